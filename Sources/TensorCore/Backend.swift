import Foundation

/// Storage owned by a backend: a run of bytes on one device, holding elements of any
/// ``DType``.
///
/// The frontend holds buffers through ``Tensor``; the storage is released when the
/// last reference goes.
public protocol BackendBuffer: AnyObject, Sendable {
    /// Size in bytes, as asked of ``Backend/makeBuffer(byteCount:)``. Backends reserve at
    /// least a whole number of 4-byte words, so 32-bit kernels may touch the last word.
    var byteCount: Int { get }
}

extension BackendBuffer {
    /// Capacity in 4-byte words (``byteCount`` rounded up): what 32-bit kernels may index.
    public var elementCount: Int { byteCount / 4 + (byteCount % 4 == 0 ? 0 : 1) }
}

/// What kind of device a backend drives: an open set, so a new backend names its own.
///
/// ```swift
/// extension DeviceKind { static let metal = DeviceKind(rawValue: "metal") }
/// if device.kind == .cpu { print("running on the CPU backend") }
/// ```
public struct DeviceKind: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// The CPU backend (OpenBLAS and the engine's vector kernels).
    public static let cpu = DeviceKind(rawValue: "cpu")
    /// A Vulkan physical device (a GPU, or Mesa's lavapipe on the CPU).
    public static let vulkan = DeviceKind(rawValue: "vulkan")

    public var description: String { rawValue }
}

/// One compute backend: memory, transfers, synchronisation, and ops as values.
///
/// The contract is deliberately small: a backend allocates buffers, copies bytes in and
/// out, waits for its queue, says which ``BackendOp`` values it runs natively
/// (``supports(_:)``) and runs them (``execute(_:)``). Callers use ``run(_:)``, which
/// falls back to an op's composite where the backend has no kernel, so a new op never
/// breaks an existing backend. docs/writing-a-backend.md walks through a new one.
///
/// Calls may be asynchronous: a backend may queue work and only complete it at
/// ``read(_:into:)`` or ``synchronize()``, which surface any deferred failure. Every
/// method throws on device failures (out of memory, device lost); none traps.
///
/// ```swift
/// let backend: any Backend = CPUDevice.shared
/// let buffer = try backend.makeBuffer(elementCount: 3)
/// try backend.run(.fill(buffer, value: 1.5, count: 3))
/// var out = [Float](repeating: 0, count: 3)
/// try out.withUnsafeMutableBytes { try backend.read(buffer, into: $0) }   // [1.5, 1.5, 1.5]
/// ```
public protocol Backend: AnyObject, Sendable {
    /// Short device name ("CPU (OpenBLAS)", "NVIDIA H100", "llvmpipe").
    var name: String { get }
    /// What kind of device this is; backends of one kind share cost models and defaults.
    var kind: DeviceKind { get }
    /// A one-line description: device, driver or library, threads, fast paths.
    var details: String { get }

    /// A new buffer of `byteCount` bytes (at least a whole number of 4-byte words reserved);
    /// its contents are undefined until written. Throws `outOfMemory` when the device cannot
    /// provide it.
    func makeBuffer(byteCount: Int) throws(TensorError) -> any BackendBuffer
    /// Copies `source.count` bytes into the start of `buffer`, after the queued work that uses it.
    func write(_ source: UnsafeRawBufferPointer, to buffer: any BackendBuffer) throws(TensorError)
    /// Waits for pending work on `buffer` and copies `destination.count` bytes out of it.
    func read(_ buffer: any BackendBuffer, into destination: UnsafeMutableRawBufferPointer) throws(TensorError)
    /// Waits for all queued work, and reports the first failure of any of it.
    func synchronize() throws(TensorError)

    /// Whether ``execute(_:)`` runs `op` with a kernel of this backend. Answer from the op's
    /// kind and parameters (an activation, an epilogue, a mode), never from buffer contents;
    /// it must be cheap: it is asked once per op.
    func supports(_ op: BackendOp) -> Bool
    /// Runs (or queues) `op`. Called only for ops ``supports(_:)`` accepted; the operands
    /// are already validated by the frontend.
    func execute(_ op: BackendOp) throws(TensorError)

    /// Bytes of buffers alive, their peak and the cache; nil where the backend does not count
    /// (the default).
    func memoryStatistics() -> MemoryStatistics?
    /// Starts a new peak: ``MemoryStatistics/peakLiveBytes`` becomes the live bytes now.
    /// The default does nothing.
    func resetPeakMemoryStatistics()
    /// Returns the freed buffers the backend keeps for reuse to the system (as
    /// `torch.cuda.empty_cache`). The default does nothing.
    func releaseCachedMemory()
}

extension Backend {
    /// No statistics: the backend does not count its memory.
    public func memoryStatistics() -> MemoryStatistics? { nil }
    /// Nothing to reset.
    public func resetPeakMemoryStatistics() {}
    /// Nothing cached.
    public func releaseCachedMemory() {}
}

extension Backend {
    /// A new buffer of `elementCount` 4-byte elements (float32 or int32).
    ///
    /// ```swift
    /// let buffer = try backend.makeBuffer(elementCount: 256)   // 1 KiB
    /// ```
    public func makeBuffer(elementCount: Int) throws(TensorError) -> any BackendBuffer {
        try makeBuffer(byteCount: DType.float32.byteCount(elementCount))
    }

    /// A new buffer for `count` elements of `dtype`.
    ///
    /// ```swift
    /// let codes = try backend.makeBuffer(count: 1000, dtype: .uint8)   // 1000 bytes
    /// ```
    public func makeBuffer(count: Int, dtype: DType) throws(TensorError) -> any BackendBuffer {
        try makeBuffer(byteCount: dtype.byteCount(count))
    }

    /// Runs `op`: with this backend's kernel where it ``supports(_:)`` it, otherwise as the
    /// op's composite of simpler ops (each run the same way), so the result is the same
    /// within the op's conformance bound. Throws `unsupportedOperation` when neither exists.
    ///
    /// ```swift
    /// try backend.run(.scaleShift(input: x, scale: 2, offset: 1, count: n, output: y))
    /// ```
    public func run(_ op: BackendOp) throws(TensorError) {
        if supports(op) {
            try execute(op)
            return
        }
        guard let parts = try op.composite(temporary: { (count) throws(TensorError) in try makeBuffer(elementCount: count) })
        else {
            throw .unsupportedOperation(op: "\(op.operation)", backend: name,
                                        reason: "no kernel for these parameters and no composite to fall back to")
        }
        for part in parts { try run(part) }
    }
}
