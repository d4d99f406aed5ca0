/// The storage types of an op's operands A and B and its result C, each float32, float16 or
/// bfloat16: a matrix product's A, B and C, a binary op's a, b and output, an activation's
/// input (A) and output (C).
///
/// Whatever the storage, kernels compute in float32 (a product accumulates in float32) and
/// round once when they store C (to nearest even). A matmul epilogue's bias and
/// pre-activation stay float32.
///
/// ```swift
/// let g = MatmulGeometry(m: 8, n: 4096, k: 4096, types: OperandTypes(b: .float16))   // fp16 weights
/// ```
public struct OperandTypes: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The first operand's storage (a matmul's A, a binary op's a, an activation's input).
    public var a: DType
    /// The second operand's storage (unused by an activation).
    public var b: DType
    /// The result's storage.
    public var c: DType

    public init(a: DType = .float32, b: DType = .float32, c: DType = .float32) {
        self.a = a
        self.b = b
        self.c = c
    }

    /// Every operand float32 (what every backend's kernels take).
    public static let float32 = OperandTypes()

    /// Whether every operand is float32.
    public var isFloat32: Bool { self == .float32 }

    /// Whether every operand is float32, float16 or bfloat16.
    public var isValid: Bool { [a, b, c].allSatisfy(\.isFloatingPoint) }

    /// One word for kernels: the three ``DType/kernelCode``s, A in bits 0-7, B 8-15, C 16-23.
    public var kernelCode: UInt32 {
        UInt32(a.kernelCode) | UInt32(b.kernelCode) << 8 | UInt32(c.kernelCode) << 16
    }

    public var description: String { "\(a) x \(b) -> \(c)" }
}
