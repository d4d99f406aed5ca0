/// Element types a tensor can hold. Arithmetic is float32; int32 carries labels and indices.
public enum DType: String, Sendable, Equatable, CustomStringConvertible {
    case float32
    case int32

    /// Bytes per element.
    public var byteSize: Int { 4 }

    public var description: String { rawValue }
}
