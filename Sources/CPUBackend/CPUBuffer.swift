import TensorCore

/// A run of bytes in host memory, 64-byte aligned, owned by the CPU backend.
///
/// Buffers come from ``CPUDevice/makeBuffer(byteCount:)``; their memory returns to
/// a bounded cache of recently freed allocations when the last reference goes, so the
/// next buffer of a similar size skips the page faults of a fresh allocation.
/// The contents of a new buffer are unspecified.
///
/// ```swift
/// let buffer = try CPUDevice.shared.makeBuffer(elementCount: 1024)
/// try CPUDevice.shared.fill(buffer, value: 1, count: 1024)
/// ```
///
/// `@unchecked Sendable`: the pointer and sizes never change. The memory behind them is
/// written by the op that creates the buffer, which returns before the tensor holding it
/// can be shared; after that it is only read, so any number of threads may use it at once.
/// The one later write is an optimiser step (`Tensor.assign`): like any in-place update,
/// it must not overlap other threads' use of that parameter.
public final class CPUBuffer: BackendBuffer, @unchecked Sendable {
    /// Size in bytes as asked (the allocation covers whole 4-byte words, and more).
    public let byteCount: Int
    /// Start of the storage, 64-byte aligned.
    let base: UnsafeMutablePointer<Float>
    let capacityBytes: Int
    /// The live-byte count of the device that made it.
    private let counter: LiveMemoryCounter

    init(byteCount: Int, base: UnsafeMutablePointer<Float>, capacityBytes: Int, counter: LiveMemoryCounter) {
        self.byteCount = byteCount
        self.base = base
        self.capacityBytes = capacityBytes
        self.counter = counter
        counter.allocated(capacityBytes)
    }

    deinit {
        counter.freed(capacityBytes)
        BufferPool.shared.release(UnsafeMutableRawPointer(base), bytes: capacityBytes)
    }
}
