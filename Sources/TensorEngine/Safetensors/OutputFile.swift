#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A file written in pieces and put in place atomically: the bytes go to a temporary file
/// beside `path`, which ``commit()`` renames over `path`; released without a commit, the
/// temporary file is removed and `path` is untouched.
///
/// ```swift
/// let output = try OutputFile(replacing: "weights.safetensors")
/// try output.write(header)
/// try output.commit()
/// ```
final class OutputFile {
    let path: String
    let temporaryPath: String
    private var descriptor: Int32

    init(replacing path: String) throws(TensorError) {
        self.path = path
        temporaryPath = path + ".partial-\(getpid())"
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw .io(path: path, reason: "cannot create \(temporaryPath): \(String(cString: strerror(errno)))")
        }
    }

    func write(_ bytes: [UInt8]) throws(TensorError) {
        var done = 0
        while done < bytes.count {
            let written = bytes.withUnsafeBytes { systemWrite(descriptor, $0.baseAddress! + done, bytes.count - done) }
            if written < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, reason: "write failed: \(String(cString: strerror(errno)))")
            }
            done += written
        }
    }

    func commit() throws(TensorError) {
        let status = close(descriptor)
        descriptor = -1
        guard status == 0 else { throw .io(path: path, reason: "close failed: \(String(cString: strerror(errno)))") }
        guard rename(temporaryPath, path) == 0 else {
            throw .io(path: path, reason: "cannot rename \(temporaryPath) into place: \(String(cString: strerror(errno)))")
        }
    }

    deinit {
        if descriptor >= 0 {
            close(descriptor)
            unlink(temporaryPath)
        }
    }
}

/// The C library's `write`, named apart from ``OutputFile/write(_:)``.
private func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}
