import CVulkan
import TensorCore

// Host <-> device copies: mapped memory directly, or through the staging buffer.
extension VulkanDevice {
    /// Copies `source` into the start of `buffer`, after any queued work that uses the buffer.
    public func write(_ source: UnsafeRawBufferPointer, to buffer: any BackendBuffer) throws(TensorError) {
        let target = try self.buffer(buffer, "write")
        guard source.count <= target.elementCount * 4 else {
            throw .invalidArgument(op: "write", reason: "\(source.count) bytes into a buffer of \(target.byteCount)")
        }
        guard source.count > 0, let base = source.baseAddress else { return }
        lock.lock()
        defer { lock.unlock() }
        try ensureOpen()
        if let address = target.hostAddress {
            try stream.wait(serial: target.lastSerial)
            address.copyMemory(from: base, byteCount: source.count)
        } else if let staging {
            try staging.upload(source, to: target, stream: stream)
        }
    }

    /// Submits and waits for the queued work that uses `buffer`, then copies its start out.
    public func read(_ buffer: any BackendBuffer, into destination: UnsafeMutableRawBufferPointer) throws(TensorError) {
        let source = try self.buffer(buffer, "read")
        guard destination.count <= source.elementCount * 4 else {
            throw .invalidArgument(op: "read", reason: "\(destination.count) bytes from a buffer of \(source.byteCount)")
        }
        lock.lock()
        defer { lock.unlock() }
        try ensureOpen()
        try stream.wait(serial: source.lastSerial)
        guard destination.count > 0, let base = destination.baseAddress else { return }
        if let address = source.hostAddress {
            base.copyMemory(from: address, byteCount: destination.count)
        } else if let staging {
            try staging.download(source, into: destination, stream: stream)
        }
    }
}
