import TensorCodes

/// Element types a tensor can hold.
///
/// Arithmetic runs in float32; the other types are storage: `float16` and `bfloat16` for
/// weights and activations (half the bytes), `int32` for labels and indices, `uint8` for
/// packed codes and 8-bit data. ``Tensor/cast(to:)`` converts between any two.
///
/// ```swift
/// let half = try x.cast(to: .float16)     // 2 bytes per element
/// print(half.dtype, half.dtype.byteSize)  // float16 2
/// ```
public enum DType: String, Sendable, Equatable, CaseIterable, CustomStringConvertible {
    case float32
    case float16
    case bfloat16
    case int32
    case uint8

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float32, .int32: return 4
        case .float16, .bfloat16: return 2
        case .uint8: return 1
        }
    }

    /// The code kernels know this type by, from the shared table (Shaders/common/tensor_codes.h).
    public var kernelCode: Int32 {
        switch self {
        case .float32: return TE_DTYPE_FLOAT32
        case .float16: return TE_DTYPE_FLOAT16
        case .bfloat16: return TE_DTYPE_BFLOAT16
        case .int32: return TE_DTYPE_INT32
        case .uint8: return TE_DTYPE_UINT8
        }
    }

    /// Whether the type holds floating-point values.
    public var isFloatingPoint: Bool {
        switch self {
        case .float32, .float16, .bfloat16: return true
        case .int32, .uint8: return false
        }
    }

    /// `count` elements in bytes; throws `outOfMemory` when the product overflows.
    public func byteCount(_ count: Int) throws(TensorError) -> Int {
        let (bytes, overflow) = count.multipliedReportingOverflow(by: byteSize)
        guard count >= 0, !overflow else {
            throw .outOfMemory(device: "any", bytes: Int.max, reason: "\(count) \(self) elements overflow the byte count")
        }
        return bytes
    }

    public var description: String { rawValue }
}
