@testable import CPUBackend
import TensorCore
import Testing

/// The activations whose kernels are fitted or rearranged against cancellation (GELU, GELU_tanh,
/// SiLU, Mish), swept far more densely than ActivationTests' grid, forward and derivative, on every
/// path this CPU runs: within 8 conditioned roundoffs of the float64 definitions. Each gets
/// every 64th float of [-4, -0.25] and [0.25, 4], every 3rd float around its derivative's
/// minimum (where f'' = 0, the conditioning allows only float32's own rounding, and the
/// kernels' roundings add up most) and every 16th float where its derivative's tail underflows.
/// Before this sweep the GELU derivative reached 8.4 roundoffs near x = -1.428, GELU_tanh's
/// 10.8 near -1.42, Mish's 8.2 near -2.23 and SiLU's 7.2 near -2.38 (its exp through
/// 2^(x log2 e)), all between the sparser grid's points; the tail
/// windows hold the exp's cut-off to its callers' factors (cut at e^-104, GELU_tanh' measured
/// 18.8 near -10.68, where 278 e^-104 is still a float).
@Suite("Activation dense sweep")
struct ActivationSweepTests {
    static func floats(_ start: Float, _ end: Float, every step: UInt32) -> [Float] {
        stride(from: start.bitPattern, to: end.bitPattern, by: start < 0 ? -Int(step) : Int(step))
            .map(Float.init(bitPattern:))
    }

    static func inputs(_ activation: Activation) -> [Float] {
        let (minimum, tail): ((Float, Float), (Float, Float)) = switch activation {
        case .geluTanh: ((-1.45, -1.38), (-11, -10.4))
        case .mish: ((-2.3, -2.2), (-106, -102))
        case .silu: ((-2.45, -2.35), (-106, -102))
        default: ((-1.5, -1.35), (-6.5, -5))
        }
        return floats(-4, -0.25, every: 64) + floats(0.25, 4, every: 64)
            + floats(minimum.1, minimum.0, every: 3) + floats(tail.1, tail.0, every: 16)
    }

    @Test("forward and derivative within 8 conditioned roundoffs",
          arguments: [Activation.gelu, .geluTanh, .silu, .mish], CPUISA.allCases.filter(\.isSupported))
    func sweep(_ activation: Activation, _ isa: CPUISA) {
        let xs = Self.inputs(activation), ones = [Float](repeating: 1, count: xs.count)
        var ys = [Float](repeating: .nan, count: xs.count), ds = ys
        xs.withUnsafeBufferPointer { x in
            ones.withUnsafeBufferPointer { g in
                ys.withUnsafeMutableBufferPointer { y in
                    ActivationKernels.forward(activation, x.baseAddress!, y.baseAddress!, range: 0..<xs.count, isa: isa)
                }
                ds.withUnsafeMutableBufferPointer { d in
                    ActivationKernels.backward(activation, x.baseAddress!, g.baseAddress!, d.baseAddress!,
                                               range: 0..<xs.count, isa: isa)
                }
            }
        }
        #expect(xs.count > 500_000)
        let (worst, at) = conditionedError(ys, xs: xs) { ReferenceActivation.forward(activation, $0) }
        #expect(worst < 8, "\(isa) \(activation): \(worst) roundoffs (conditioned) at x = \(at)")
        let (dWorst, dAt) = conditionedError(ds, xs: xs) { ReferenceActivation.derivative(activation, $0) }
        #expect(dWorst < 8, "\(isa) \(activation)': \(dWorst) roundoffs (conditioned) at x = \(dAt)")
    }
}
