import Foundation
import TensorCodes

/// The elementwise binary operations, with NumPy broadcasting.
///
/// `maximum` and `minimum` propagate NaN, as PyTorch's `torch.maximum` does. The
/// comparisons (`equal` ... `greaterEqual`) give a float32 mask: 1 where the relation holds,
/// 0 where not; NaN compares false except for `notEqual`, where it is true (IEEE 754).
public enum BinaryOp: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case add, sub, mul, div, maximum, minimum
    case equal, notEqual, less, lessEqual, greater, greaterEqual

    /// True for the comparisons, whose output is a 0/1 mask and has no gradient.
    public var isComparison: Bool { rawValue >= BinaryOp.equal.rawValue }

    /// The code kernels know this op by, from the shared table (Shaders/common/tensor_codes.h).
    public var kernelCode: Int32 {
        switch self {
        case .add: return TE_BINARY_ADD
        case .sub: return TE_BINARY_SUB
        case .mul: return TE_BINARY_MUL
        case .div: return TE_BINARY_DIV
        case .maximum: return TE_BINARY_MAXIMUM
        case .minimum: return TE_BINARY_MINIMUM
        case .equal: return TE_BINARY_EQUAL
        case .notEqual: return TE_BINARY_NOT_EQUAL
        case .less: return TE_BINARY_LESS
        case .lessEqual: return TE_BINARY_LESS_EQUAL
        case .greater: return TE_BINARY_GREATER
        case .greaterEqual: return TE_BINARY_GREATER_EQUAL
        }
    }

    public var description: String {
        switch self {
        case .add: return "add"
        case .sub: return "sub"
        case .mul: return "mul"
        case .div: return "div"
        case .maximum: return "maximum"
        case .minimum: return "minimum"
        case .equal: return "equal"
        case .notEqual: return "notEqual"
        case .less: return "less"
        case .lessEqual: return "lessEqual"
        case .greater: return "greater"
        case .greaterEqual: return "greaterEqual"
        }
    }

    /// The float64 reference.
    public func apply(_ a: Double, _ b: Double) -> Double {
        switch self {
        case .add: return a + b
        case .sub: return a - b
        case .mul: return a * b
        case .div: return a / b
        case .maximum: return a.isNaN || b.isNaN ? .nan : Swift.max(a, b)
        case .minimum: return a.isNaN || b.isNaN ? .nan : Swift.min(a, b)
        case .equal: return a == b ? 1 : 0
        case .notEqual: return a != b ? 1 : 0
        case .less: return a < b ? 1 : 0
        case .lessEqual: return a <= b ? 1 : 0
        case .greater: return a > b ? 1 : 0
        case .greaterEqual: return a >= b ? 1 : 0
        }
    }
}

/// Elementwise math functions outside the activation family.
public enum UnaryOp: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case exp, log, sqrt, abs

    /// The code kernels know this op by, from the shared table (Shaders/common/tensor_codes.h).
    public var kernelCode: Int32 {
        switch self {
        case .exp: return TE_UNARY_EXP
        case .log: return TE_UNARY_LOG
        case .sqrt: return TE_UNARY_SQRT
        case .abs: return TE_UNARY_ABS
        }
    }

    public var description: String {
        switch self {
        case .exp: return "exp"
        case .log: return "log"
        case .sqrt: return "sqrt"
        case .abs: return "abs"
        }
    }

    /// The float64 reference.
    public func apply(_ x: Double) -> Double {
        switch self {
        case .exp: return Foundation.exp(x)
        case .log: return Foundation.log(x)
        case .sqrt: return x.squareRoot()
        case .abs: return Swift.abs(x)
        }
    }
}
