import COpenBLAS
import CPUKernels
#if canImport(Glibc)
import Glibc
#endif

/// The OpenBLAS entry points the CPU backend uses, resolved with `dlsym` from a library
/// opened with `dlopen` (nothing links libopenblas at build time).
///
/// `@unchecked Sendable`: every stored property is immutable after `load`, the function
/// pointers refer to code in a library that is never closed, and OpenBLAS's CBLAS calls
/// are themselves thread-safe.
struct OpenBLASLibrary: @unchecked Sendable {
    let path: String
    let sgemm: te_cblas_sgemm_fn
    let sgemv: te_cblas_sgemv_fn
    let setNumThreads: te_openblas_set_num_threads_fn
    let config: String
    let coreName: String

    /// Opens `path` and resolves the symbols; the error string says what failed.
    static func load(path: String) -> Result<OpenBLASLibrary, LoadError> {
        _ = dlerror()
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            let message = dlerror().map { String(cString: $0) } ?? "dlopen failed"
            return .failure(LoadError(message: "cannot load \(path): \(message)"))
        }
        func symbol<T>(_ name: String, as type: T.Type) -> T? {
            guard let raw = dlsym(handle, name) else { return nil }
            return unsafeBitCast(raw, to: type)
        }
        guard let sgemm = symbol("cblas_sgemm", as: te_cblas_sgemm_fn.self),
              let sgemv = symbol("cblas_sgemv", as: te_cblas_sgemv_fn.self),
              let setThreads = symbol("openblas_set_num_threads", as: te_openblas_set_num_threads_fn.self),
              let getConfig = symbol("openblas_get_config", as: te_openblas_get_config_fn.self),
              let getCore = symbol("openblas_get_corename", as: te_openblas_get_corename_fn.self)
        else {
            dlclose(handle)
            return .failure(LoadError(message:
                "\(path) lacks one of cblas_sgemm, cblas_sgemv, openblas_set_num_threads, "
                + "openblas_get_config, openblas_get_corename"))
        }
        let config = getConfig().map { String(cString: $0) } ?? "unknown"
        let core = getCore().map { String(cString: $0) } ?? "unknown"
        return .success(OpenBLASLibrary(path: path, sgemm: sgemm, sgemv: sgemv,
                                        setNumThreads: setThreads,
                                        config: config.trimmingTrailingSpaces(),
                                        coreName: core))
    }

    /// Runs `body` (one or more BLAS calls) with OpenBLAS at `threads` threads.
    ///
    /// OpenBLAS has one thread count per process and rounds sgemm differently for each, so
    /// devices with different counts take turns through a gate (CPUKernels' BLASThreadGate.c):
    /// calls with the same count run together, another count waits for them. Without it a
    /// second device changed the first one's count, and its results with it.
    ///
    /// ```swift
    /// blas.withThreads(2) { blas.sgemm(...) }
    /// ```
    func withThreads<Result>(_ threads: Int, _ body: () -> Result) -> Result {
        te_blas_gate_enter(Int32(clamping: max(1, threads)), setNumThreads)
        defer { te_blas_gate_leave() }
        return body()
    }

    struct LoadError: Error {
        var message: String
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self[...]
        while let c = s.last, c == " " || c == "\n" { s = s.dropLast() }
        return String(s)
    }
}
