import Foundation
import TensorEngine
import VulkanBackend
import Testing

/// Float64 host references written from the math, independent of the engine's kernels.
enum Reference {
    static func matmul(_ a: [Double], _ b: [Double], m: Int, n: Int, k: Int,
                       transposeA: Bool = false, transposeB: Bool = false) -> [Double] {
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var acc = 0.0
                for p in 0..<k {
                    let x = transposeA ? a[p * m + i] : a[i * k + p]
                    let y = transposeB ? b[j * k + p] : b[p * n + j]
                    acc += x * y
                }
                c[i * n + j] = acc
            }
        }
        return c
    }

    /// Independent scalar formulas (not Activation.forward).
    static func activation(_ act: Activation, _ x: Double) -> Double {
        let sig = 1 / (1 + exp(-x))
        switch act {
        case .identity: return x
        case .relu: return max(x, 0)
        case let .leakyReLU(slope): return x >= 0 ? x : Double(slope) * x
        case .gelu: return x * 0.5 * erfc(-x / sqrt(2))
        case .geluTanh: return 0.5 * x * (1 + Foundation.tanh(sqrt(2 / Double.pi) * (x + 0.044715 * pow(x, 3))))
        case .silu: return x * sig
        case .mish: return x * Foundation.tanh(log(1 + exp(x)))
        case .tanh: return Foundation.tanh(x)
        case .sigmoid: return sig
        case .softplus: return x > 30 ? x : log(1 + exp(x))
        case let .elu(alpha): return x > 0 ? x : Double(alpha) * (exp(x) - 1)
        }
    }

    /// f' by a central difference of the independent formula (smooth activations) or by cases.
    static func derivative(_ act: Activation, _ x: Double) -> Double {
        switch act {
        case .relu: return x > 0 ? 1 : 0
        case let .leakyReLU(slope): return x > 0 ? 1 : Double(slope)
        case let .elu(alpha): return x > 0 ? 1 : Double(alpha) * exp(x)
        default:
            let h = 1e-5 * max(1, abs(x))
            return (activation(act, x + h) - activation(act, x - h)) / (2 * h)
        }
    }
}

/// Normalised mean squared error sum (a - b)^2 / sum b^2 (plain squared error when b is all zero).
func nmse(_ actual: [Float], _ expected: [Double]) -> Double {
    precondition(actual.count == expected.count)
    var num = 0.0, den = 0.0
    for (a, b) in zip(actual, expected) {
        num += (Double(a) - b) * (Double(a) - b)
        den += b * b
    }
    return den == 0 ? num : num / den
}

func doubles(_ values: [Float]) -> [Double] { values.map(Double.init) }
