import Foundation
import TensorCodes

/// Elementwise activation functions, with their exact scalar definitions.
///
/// The scalar `forward(_:)` and `derivative(_:)` in `Double` are the engine's
/// definitions: the float64 references of the tests, the targets of the few-bit
/// tables, and the formulas each backend's kernels implement in float32.
///
/// ```swift
/// let act = Activation.gelu
/// act.forward(1.0)      // 0.8413447460685429
/// act.derivative(1.0)   // 1.0833154705876864
/// let y = try activate(x, .leakyReLU(slope: 0.1))
/// ```
public enum Activation: Sendable, Hashable, CustomStringConvertible {
    case identity
    case relu
    case leakyReLU(slope: Float)
    /// Exact GELU, x * Phi(x) with the Gaussian CDF through erfc (accurate in the far negative tail).
    case gelu
    /// The tanh approximation of GELU.
    case geluTanh
    /// x * sigmoid(x), also known as swish.
    case silu
    /// x * tanh(softplus(x)).
    case mish
    case tanh
    case sigmoid
    /// log(1 + e^x).
    case softplus
    case elu(alpha: Float)

    /// Every activation kind once, with the default parameters; tests and benchmarks iterate it.
    public static let allCases: [Activation] = [
        .identity, .relu, .leakyReLU(slope: 0.01), .gelu, .geluTanh, .silu,
        .mish, .tanh, .sigmoid, .softplus, .elu(alpha: 1.0),
    ]

    public var description: String {
        switch self {
        case .identity: return "identity"
        case .relu: return "relu"
        case let .leakyReLU(slope): return "leakyReLU(\(slope))"
        case .gelu: return "gelu"
        case .geluTanh: return "geluTanh"
        case .silu: return "silu"
        case .mish: return "mish"
        case .tanh: return "tanh"
        case .sigmoid: return "sigmoid"
        case .softplus: return "softplus"
        case let .elu(alpha): return "elu(\(alpha))"
        }
    }

    /// A stable small integer per kind, shared by every kernel (CPU loops and shaders), from
    /// the one table in Shaders/common/tensor_codes.h.
    public var kernelCode: Int32 {
        switch self {
        case .identity: return TE_ACT_IDENTITY
        case .relu: return TE_ACT_RELU
        case .leakyReLU: return TE_ACT_LEAKY_RELU
        case .gelu: return TE_ACT_GELU
        case .geluTanh: return TE_ACT_GELU_TANH
        case .silu: return TE_ACT_SILU
        case .mish: return TE_ACT_MISH
        case .tanh: return TE_ACT_TANH
        case .sigmoid: return TE_ACT_SIGMOID
        case .softplus: return TE_ACT_SOFTPLUS
        case .elu: return TE_ACT_ELU
        }
    }

    /// The kind's parameter (slope or alpha), 0 where it has none.
    public var parameter: Float {
        switch self {
        case let .leakyReLU(slope): return slope
        case let .elu(alpha): return alpha
        default: return 0
        }
    }

    /// f(x) in double precision.
    public func forward(_ x: Double) -> Double {
        switch self {
        case .identity: return x
        case .relu: return x > 0 ? x : 0
        case let .leakyReLU(slope): return x > 0 ? x : Double(slope) * x
        case .gelu: return 0.5 * x * erfc(-x / 2.0.squareRoot())
        case .geluTanh: return 0.5 * x * (1 + Foundation.tanh(Self.geluTanhInner(x)))
        case .silu: return x * Self.sigmoid(x)
        case .mish: return x * Foundation.tanh(Self.softplus(x))
        case .tanh: return Foundation.tanh(x)
        case .sigmoid: return Self.sigmoid(x)
        case .softplus: return Self.softplus(x)
        case let .elu(alpha): return x > 0 ? x : Double(alpha) * expm1(x)
        }
    }

    /// f'(x) in double precision (at a kink, the left derivative: relu'(0) = 0).
    public func derivative(_ x: Double) -> Double {
        switch self {
        case .identity: return 1
        case .relu: return x > 0 ? 1 : 0
        case let .leakyReLU(slope): return x > 0 ? 1 : Double(slope)
        case .gelu:
            let pdf = exp(-0.5 * x * x) / (2 * Double.pi).squareRoot()
            return 0.5 * erfc(-x / 2.0.squareRoot()) + x * pdf
        case .geluTanh:
            let t = Foundation.tanh(Self.geluTanhInner(x))
            let innerDerivative = Self.sqrt2OverPi * (1 + 3 * Self.geluTanhCubic * x * x)
            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * innerDerivative
        case .silu:
            let s = Self.sigmoid(x)
            return s * (1 + x * (1 - s))
        case .mish:
            let t = Foundation.tanh(Self.softplus(x))
            return t + x * (1 - t * t) * Self.sigmoid(x)
        case .tanh:
            let t = Foundation.tanh(x)
            return 1 - t * t
        case .sigmoid:
            let s = Self.sigmoid(x)
            return s * (1 - s)
        case .softplus: return Self.sigmoid(x)
        case let .elu(alpha): return x > 0 ? 1 : Double(alpha) * exp(x)
        }
    }

    /// True where f' is piecewise constant, so a 1-bit few-bit table is exact.
    public var hasPiecewiseConstantDerivative: Bool {
        switch self {
        case .identity, .relu, .leakyReLU: return true
        default: return false
        }
    }

    static let sqrt2OverPi = (2 / Double.pi).squareRoot()
    static let geluTanhCubic = 0.044715

    static func geluTanhInner(_ x: Double) -> Double {
        sqrt2OverPi * (x + geluTanhCubic * x * x * x)
    }

    static func sigmoid(_ x: Double) -> Double {
        x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x))
    }

    static func softplus(_ x: Double) -> Double {
        max(x, 0) + log1p(exp(-abs(x)))
    }
}
