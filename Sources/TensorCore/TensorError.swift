/// Every failure the engine reports: bad input, an unavailable backend, a device fault.
///
/// All public operations use typed throws, so callers can switch over the cases:
///
/// ```swift
/// do {
///     _ = try matmul(a, b)
/// } catch {
///     print(error)   // "matmul: inner dimensions differ: [2, 3] x [4, 5]"
/// }
/// ```
public enum TensorError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Two operands whose shapes do not fit together; both shapes are named.
    case shapeMismatch(op: String, lhs: [Int], rhs: [Int], reason: String)
    /// A shape that is invalid on its own (negative extent, wrong rank, element count mismatch).
    case invalidShape(op: String, shape: [Int], reason: String)
    /// An argument outside its domain (axis out of range, bits outside 1...8, ...).
    case invalidArgument(op: String, reason: String)
    /// The element type is not supported by the operation.
    case unsupportedDType(op: String, dtype: DType)
    /// Operands on two different devices.
    case deviceMismatch(op: String, lhs: String, rhs: String)
    /// A backend that cannot be used on this machine, and why.
    case backendUnavailable(backend: String, reason: String)
    /// A backend with no kernel for an op (with these parameters), and no composite to run instead.
    case unsupportedOperation(op: String, backend: String, reason: String)
    /// The device could not provide the memory asked for.
    case outOfMemory(device: String, bytes: Int, reason: String)
    /// A failure reported by the device at run time (device lost, submission failed, ...).
    case deviceFailure(device: String, reason: String)
    /// A file that could not be read or written, or whose contents are malformed.
    case io(path: String, reason: String)
    /// Malformed `.npy` data.
    case invalidNPY(reason: String)

    public var description: String {
        switch self {
        case let .shapeMismatch(op, lhs, rhs, reason):
            return "\(op): \(reason): \(lhs) and \(rhs)"
        case let .invalidShape(op, shape, reason):
            return "\(op): invalid shape \(shape): \(reason)"
        case let .invalidArgument(op, reason):
            return "\(op): \(reason)"
        case let .unsupportedDType(op, dtype):
            return "\(op): dtype \(dtype) is not supported"
        case let .deviceMismatch(op, lhs, rhs):
            return "\(op): operands live on different devices: \(lhs) and \(rhs)"
        case let .backendUnavailable(backend, reason):
            return "\(backend) unavailable: \(reason)"
        case let .unsupportedOperation(op, backend, reason):
            return "\(op) on \(backend): \(reason)"
        case let .outOfMemory(device, bytes, reason):
            return "\(device): out of memory allocating \(bytes) bytes: \(reason)"
        case let .deviceFailure(device, reason):
            return "\(device): device failure: \(reason)"
        case let .io(path, reason):
            return "\(path): \(reason)"
        case let .invalidNPY(reason):
            return "invalid .npy data: \(reason)"
        }
    }
}
