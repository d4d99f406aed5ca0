import TensorCore
#if canImport(Glibc)
import Glibc
#endif

/// Activation forward and backward loops.
enum ActivationKernels {
    static func forward(_ activation: Activation, _ x: UnsafePointer<Float>,
                        _ y: UnsafeMutablePointer<Float>, range: Range<Int>) {
        for i in range { y[i] = Float(ScalarActivation.forward(activation, Double(x[i]))) }
    }

    static func backward(_ activation: Activation, _ x: UnsafePointer<Float>, _ g: UnsafePointer<Float>,
                         _ out: UnsafeMutablePointer<Float>, range: Range<Int>) {
        for i in range { out[i] = Float(Double(g[i]) * ScalarActivation.derivative(activation, Double(x[i]))) }
    }

    /// One row of the matmul epilogue.
    static func epilogueRow(_ activation: Activation, bias: UnsafePointer<Float>?,
                            pre: UnsafeMutablePointer<Float>?, row: UnsafeMutablePointer<Float>, count: Int) {
        for j in 0..<count {
            let v = row[j] + (bias?[j] ?? 0)
            pre?[j] = v
            row[j] = Float(ScalarActivation.forward(activation, Double(v)))
        }
    }
}

/// Double-precision activations in tail-stable forms (erfc, exp(-|x|), sech^2).
enum ScalarActivation {
    static func sigmoid(_ x: Double) -> Double {
        let e = exp(-abs(x))
        return x >= 0 ? 1 / (1 + e) : e / (1 + e)
    }
    static func softplus(_ x: Double) -> Double { max(x, 0) + log1p(exp(-abs(x))) }
    static func sech2(_ x: Double) -> Double {
        let e = exp(-2 * abs(x))
        return 4 * e / ((1 + e) * (1 + e))
    }
    static let k = (2 / Double.pi).squareRoot()

    static func forward(_ a: Activation, _ x: Double) -> Double {
        switch a {
        case .gelu: return 0.5 * x * erfc(-x * 0.5.squareRoot())
        case .geluTanh: return x * sigmoid(2 * k * (x + 0.044715 * x * x * x))
        default: return a.forward(x)
        }
    }

    static func derivative(_ a: Activation, _ x: Double) -> Double {
        switch a {
        case .gelu:
            return 0.5 * erfc(-x * 0.5.squareRoot()) + x * exp(-0.5 * x * x) / (2 * Double.pi).squareRoot()
        case .geluTanh:
            let u = k * (x + 0.044715 * x * x * x)
            return sigmoid(2 * u) + 0.5 * x * sech2(u) * k * (1 + 3 * 0.044715 * x * x)
        case .tanh: return sech2(x)
        case .sigmoid:
            let e = exp(-abs(x))
            return e / ((1 + e) * (1 + e))
        case .mish:
            let sp = softplus(x)
            return Glibc.tanh(sp) + x * sech2(sp) * sigmoid(x)
        default: return a.derivative(x)
        }
    }
}
