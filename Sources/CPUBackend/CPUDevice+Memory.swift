import CPUKernels
import TensorCore
#if canImport(Glibc)
import Glibc
#endif

extension CPUDevice {
    /// A 64-byte-aligned buffer of `byteCount` bytes (whole 4-byte words reserved, contents
    /// unspecified), reusing recently freed memory of the same size class where there is some.
    ///
    /// ```swift
    /// let buffer = try CPUDevice.shared.makeBuffer(byteCount: 1024)
    /// ```
    public func makeBuffer(byteCount: Int) throws(TensorError) -> any BackendBuffer {
        guard byteCount >= 0 else {
            throw .invalidArgument(op: "makeBuffer", reason: "negative byte count \(byteCount)")
        }
        let (bytes, overflow) = (byteCount / 4 + (byteCount % 4 == 0 ? 0 : 1)).multipliedReportingOverflow(by: 4)
        // More than the machine's RAM cannot be served; with overcommit, posix_memalign could
        // still succeed and the first touch would get the process killed.
        let physical = Int(sysconf(Int32(_SC_PHYS_PAGES))) &* Int(sysconf(Int32(_SC_PAGESIZE)))
        guard overflow || physical <= 0 || bytes <= physical else {
            throw .outOfMemory(device: name, bytes: bytes, reason: "more than the \(physical) bytes of physical memory")
        }
        guard !overflow, let (pointer, capacity) = BufferPool.shared.acquire(bytes: bytes) else {
            throw .outOfMemory(device: name, bytes: overflow ? Int.max : bytes, reason: "posix_memalign failed")
        }
        return CPUBuffer(byteCount: byteCount,
                         base: pointer.bindMemory(to: Float.self, capacity: capacity / 4),
                         capacityBytes: capacity, counter: liveMemory)
    }

    /// Copies `source` into the start of `buffer`.
    ///
    /// ```swift
    /// try [Float](repeating: 1, count: 4).withUnsafeBytes { try cpu.write($0, to: buffer) }
    /// ```
    public func write(_ source: UnsafeRawBufferPointer, to buffer: any BackendBuffer) throws(TensorError) {
        let target = try cpuBuffer(buffer, op: "write")
        guard source.count <= target.elementCount * 4 else {
            throw .invalidArgument(op: "write", reason: "\(source.count) bytes exceed the buffer's \(target.elementCount * 4)")
        }
        if let from = source.baseAddress, source.count > 0 {
            memcpy(UnsafeMutableRawPointer(target.base), from, source.count)
        }
    }

    /// Copies the first `destination.count` bytes of `buffer` out.
    ///
    /// ```swift
    /// var values = [Float](repeating: 0, count: 4)
    /// try values.withUnsafeMutableBytes { try cpu.read(buffer, into: $0) }
    /// ```
    public func read(_ buffer: any BackendBuffer, into destination: UnsafeMutableRawBufferPointer) throws(TensorError) {
        let source = try cpuBuffer(buffer, op: "read")
        guard destination.count <= source.elementCount * 4 else {
            throw .invalidArgument(op: "read", reason: "\(destination.count) bytes exceed the buffer's \(source.elementCount * 4)")
        }
        if let to = destination.baseAddress, destination.count > 0 {
            memcpy(to, UnsafeRawPointer(source.base), destination.count)
        }
    }

    /// Nothing to wait for: CPU work completes before each call returns.
    ///
    /// ```swift
    /// try CPUDevice.shared.synchronize()
    /// ```
    public func synchronize() throws(TensorError) {}

    /// The CPU buffer behind `buffer`; throws for a buffer of another backend.
    func cpuBuffer(_ buffer: any BackendBuffer, op: String) throws(TensorError) -> CPUBuffer {
        guard let cpu = buffer as? CPUBuffer else {
            throw .invalidArgument(op: op, reason: "buffer \(type(of: buffer)) does not belong to the CPU backend")
        }
        return cpu
    }

    /// Throws unless `buffer` holds at least `count` elements.
    func require(_ buffer: CPUBuffer, holds count: Int, op: String, role: String) throws(TensorError) {
        guard count <= buffer.elementCount else {
            throw .invalidArgument(op: op, reason: "\(role) holds \(buffer.elementCount) elements, \(count) needed")
        }
    }
}

extension CPUDevice {
    /// Bytes of this device's live buffers (whole size classes) and their peak, and the bytes
    /// of the process-wide cache of freed buffers (shared by every `CPUDevice`).
    ///
    /// ```swift
    /// let before = CPUDevice.shared.memoryStatistics()?.liveBytes ?? 0
    /// ```
    public func memoryStatistics() -> MemoryStatistics? {
        liveMemory.statistics(cachedBytes: BufferPool.shared.cachedBytes)
    }

    /// Starts a new peak of live bytes.
    ///
    /// ```swift
    /// CPUDevice.shared.resetPeakMemoryStatistics()
    /// ```
    public func resetPeakMemoryStatistics() { liveMemory.resetPeak() }

    /// Frees every cached buffer (of every `CPUDevice`: the cache is the process's) and asks the C library to return free heap pages to the
    /// system, so resident memory falls to what live buffers need.
    ///
    /// ```swift
    /// CPUDevice.shared.releaseCachedMemory()
    /// ```
    public func releaseCachedMemory() {
        BufferPool.shared.trim(to: 0)
        _ = te_release_free_heap()
    }
}
