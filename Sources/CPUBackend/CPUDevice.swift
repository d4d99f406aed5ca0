import Synchronization
import TensorCore
#if canImport(Glibc)
import Glibc
#endif

/// The CPU backend: OpenBLAS (loaded at run time) for matrix products, vectorised
/// Swift loops for everything else, using up to ``threads`` cores.
///
/// Before it loads OpenBLAS, the device picks the library's kernel family
/// (`OPENBLAS_CORETYPE`) from the CPU's features unless the user set that variable.
/// Where OpenBLAS cannot be loaded, matrix products run on the built-in packed C kernel
/// (``PackedGemm``; the blocked Swift kernel on the portable path) and
/// ``openBLASUnavailableReason`` says why.
///
/// OpenBLAS's idle worker threads spin for 2^28 cycles (about 0.1 s) after each call by
/// default; on a machine with few cores that spinning takes a core from the backend's own
/// parallel loops (sparse products, activations) run right after a matrix product: batch-1
/// sparse products measured 2.8 ms instead of 2.1 ms, at random. So unless the user set
/// `OPENBLAS_THREAD_TIMEOUT`, the device sets it to 18 (2^18 cycles, about 0.1 ms) before
/// loading the library: back-to-back products still find their workers awake.
///
/// Environment:
/// - `TENSOR_OPENBLAS_PATH`: the library to load (default `libopenblas.so.0`).
/// - `OPENBLAS_CORETYPE`: when set, used as is.
/// - `OPENBLAS_THREAD_TIMEOUT` (or `GOTO_THREAD_TIMEOUT`): when set, used as is.
/// - `TENSOR_CPU_THREADS`: the initial thread count (default: the number of cores).
/// - `TENSOR_CPU_ISA`: `avx512`, `avx2` or `portable` forces the C kernels' path (``CPUISA``).
///
/// ```swift
/// let cpu = CPUDevice.shared
/// print(cpu.details)   // "CPU: OpenBLAS 0.3.21 ..., core Zen (chosen from CPU flags ...); kernels avx2 (best on this CPU); 2 threads"
/// cpu.threads = 1      // single-threaded from now on
/// ```
public final class CPUDevice: Backend {
    /// The process-wide CPU device (the frontend's `Device.cpu`).
    public static let shared = CPUDevice()

    /// Whether the C kernels (AVX-512 or AVX2 + FMA: activations, the sparse union product)
    /// run here (``CPUISA/active`` is not `.portable`); elsewhere portable Swift loops run instead.
    ///
    /// ```swift
    /// let model: SparseCostModel = CPUDevice.hasVectorKernels ? .cpu : .cpuPortable
    /// ```
    public static var hasVectorKernels: Bool { CPUISA.active != .portable }

    public let name: String
    public var kind: DeviceKind { .cpu }
    /// Bytes of this device's live buffers and their peak (``memoryStatistics()``).
    let liveMemory = LiveMemoryCounter()

    /// log2 of the cycles OpenBLAS's idle workers spin before they sleep (see above).
    static let workerSpinExponent = "18"

    /// Why OpenBLAS could not be used, or nil when it is loaded.
    public let openBLASUnavailableReason: String?
    /// The OpenBLAS core (kernel family) in use, e.g. "Zen" or "SkylakeX"; nil without OpenBLAS.
    public let openBLASCore: String?
    /// How the core was chosen: "set by the user", "chosen from CPU flags (...)", or "OpenBLAS default".
    public let openBLASCoreSource: String?
    /// OpenBLAS's build configuration string; nil without OpenBLAS.
    public let openBLASConfig: String?

    let blas: OpenBLASLibrary?
    private let threadCount: Atomic<Int>

    /// Threads used by matrix products and large elementwise ops (at least 1). OpenBLAS has
    /// one count per process; each device's products run it at this device's count (devices
    /// with different counts take turns), so a product rounds the same whatever other
    /// devices do.
    ///
    /// ```swift
    /// CPUDevice.shared.threads = 2
    /// ```
    public var threads: Int {
        get { threadCount.load(ordering: .relaxed) }
        set {
            let value = max(1, newValue)
            threadCount.store(value, ordering: .relaxed)
        }
    }

    /// The number of cores this process may use.
    public static var coreCount: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// Creates a device, loading OpenBLAS from `openBLASPath` (default: `TENSOR_OPENBLAS_PATH`,
    /// then `libopenblas.so.0`) with `threads` threads (default: `TENSOR_CPU_THREADS`, then
    /// the number of cores). A path that cannot be loaded gives a working device that uses
    /// the built-in matmul (``PackedGemm``).
    ///
    /// ```swift
    /// let fallback = CPUDevice(openBLASPath: "/nonexistent/libopenblas.so")
    /// print(fallback.openBLASUnavailableReason ?? "loaded")
    /// ```
    public init(openBLASPath: String? = nil, threads: Int? = nil) {
        let environment = Environment()
        let path = openBLASPath ?? environment["TENSOR_OPENBLAS_PATH"] ?? "libopenblas.so.0"
        let threadCount = max(1, threads ?? environment["TENSOR_CPU_THREADS"].flatMap { Int($0) }
                              ?? Self.coreCount)
        self.threadCount = Atomic(threadCount)

        var source: String
        if let user = environment["OPENBLAS_CORETYPE"], !user.isEmpty {
            source = "set by the user (OPENBLAS_CORETYPE=\(user))"
        } else if let choice = OpenBLASCoreType.choose(for: OpenBLASCoreType.current()) {
            setenv("OPENBLAS_CORETYPE", choice.core, 1)
            source = "chosen from CPU flags (\(choice.reason))"
        } else {
            source = "OpenBLAS default"
        }
        if (environment["OPENBLAS_THREAD_TIMEOUT"] ?? environment["GOTO_THREAD_TIMEOUT"] ?? "").isEmpty {
            setenv("OPENBLAS_THREAD_TIMEOUT", Self.workerSpinExponent, 1)
        }
        switch OpenBLASLibrary.load(path: path) {
        case let .success(library):
            blas = library
            openBLASUnavailableReason = nil
            openBLASCore = library.coreName
            openBLASConfig = library.config
            openBLASCoreSource = source
            name = "CPU (OpenBLAS)"
        case let .failure(error):
            blas = nil
            openBLASUnavailableReason = error.message
            openBLASCore = nil
            openBLASConfig = nil
            openBLASCoreSource = nil
            name = "CPU (built-in matmul)"
        }
    }

    /// One line: the library, its core and how it was chosen, the C kernels' path, and the thread count.
    public var details: String {
        let threadText = "kernels \(CPUISA.active) (\(CPUISA.selection)); \(threads) thread\(threads == 1 ? "" : "s")"
        guard let core = openBLASCore, let config = openBLASConfig, let source = openBLASCoreSource else {
            return "CPU: OpenBLAS unavailable: \(openBLASUnavailableReason ?? "unknown"); "
                + "using the built-in matmul (\(PackedGemm.kernelDescription(isa: CPUISA.active))); \(threadText)"
        }
        return "CPU: \(config); core \(core) \(source); \(threadText)"
    }
}

/// Reads environment variables.
struct Environment {
    subscript(name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
