import TensorCore
#if canImport(Glibc)
import Glibc
#endif

/// Float64 activations written from their definitions in numerically stable forms
/// (erfc for the Gaussian tail, exp of -|x| for logistic functions, sech^2 for 1 - tanh^2),
/// independent of both the engine's kernels and `Activation.forward`.
enum ReferenceActivation {
    static func sigmoid(_ x: Double) -> Double {
        x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x))
    }
    static func softplus(_ x: Double) -> Double { max(x, 0) + log1p(exp(-abs(x))) }
    /// 1 - tanh(x)^2 without cancellation.
    static func sech2(_ x: Double) -> Double {
        let c = cosh(x)
        return c.isFinite ? 1 / (c * c) : 0
    }
    static let k = (2 / Double.pi).squareRoot()
    static func inner(_ x: Double) -> Double { k * (x + 0.044715 * x * x * x) }

    static func forward(_ a: Activation, _ x: Double) -> Double {
        switch a {
        case .identity: return x
        case .relu: return x > 0 ? x : 0
        case let .leakyReLU(slope): return x > 0 ? x : Double(slope) * x
        case .gelu: return 0.5 * x * erfc(-x / 2.0.squareRoot())
        case .geluTanh: return x * sigmoid(2 * inner(x))     // 0.5 x (1 + tanh u) = x sigmoid(2u)
        case .silu: return x * sigmoid(x)
        case .mish: return x * tanh(softplus(x))
        case .tanh: return tanh(x)
        case .sigmoid: return sigmoid(x)
        case .softplus: return softplus(x)
        case let .elu(alpha): return x > 0 ? x : Double(alpha) * expm1(x)
        }
    }

    static func derivative(_ a: Activation, _ x: Double) -> Double {
        switch a {
        case .identity: return 1
        case .relu: return x > 0 ? 1 : 0
        case let .leakyReLU(slope): return x > 0 ? 1 : Double(slope)
        case .gelu:
            return 0.5 * erfc(-x / 2.0.squareRoot()) + x * exp(-0.5 * x * x) / (2 * Double.pi).squareRoot()
        case .geluTanh:
            let u = inner(x)
            let du = k * (1 + 3 * 0.044715 * x * x)
            // d/dx [0.5 x (1 + tanh u)] = 0.5 (1 + tanh u) + 0.5 x sech^2(u) u'
            return sigmoid(2 * u) + 0.5 * x * sech2(u) * du
        case .silu:
            let s = sigmoid(x)
            return s + x * s * sigmoid(-x)
        case .mish:
            let sp = softplus(x)
            return tanh(sp) + x * sech2(sp) * sigmoid(x)
        case .tanh: return sech2(x)
        case .sigmoid: return sigmoid(x) * sigmoid(-x)
        case .softplus: return sigmoid(x)
        case let .elu(alpha): return x > 0 ? 1 : Double(alpha) * exp(x)
        }
    }
}
