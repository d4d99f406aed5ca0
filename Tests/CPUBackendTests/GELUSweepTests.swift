@testable import CPUBackend
import TensorCore
import Testing

/// GELU's forward and derivative kernels (ActivationBodies.h: fitted polynomials, the short
/// 2^f polynomial) on every 64th float of [-4, -0.25] and [0.25, 4] (about 44 thousand a side)
/// and every 3rd of [-1.5, -1.35], on every path this CPU runs: within 8 conditioned roundoffs
/// of the float64 definitions, as ActivationTests asks on its sparser grid. There the kernels'
/// roundings add up most against the conditioning; the derivative kernel before this sweep
/// reached 8.4 roundoffs near x = -1.428, between the other tests' points.
@Suite("GELU dense sweep")
struct GELUSweepTests {
    static let inputs: [Float] = [(Float(-4), Float(-0.25), 64), (0.25, 4, 64), (-1.5, -1.35, 3)].flatMap { start, end, step in
        stride(from: start.bitPattern, to: end.bitPattern, by: start < 0 ? -step : step).map(Float.init(bitPattern:))
    }

    @Test("forward and derivative within 8 conditioned roundoffs",
          arguments: CPUISA.allCases.filter(\.isSupported))
    func sweep(_ isa: CPUISA) {
        let xs = Self.inputs, ones = [Float](repeating: 1, count: xs.count)
        var ys = [Float](repeating: .nan, count: xs.count), ds = ys
        xs.withUnsafeBufferPointer { x in
            ones.withUnsafeBufferPointer { g in
                ys.withUnsafeMutableBufferPointer { y in
                    ActivationKernels.forward(.gelu, x.baseAddress!, y.baseAddress!, range: 0..<xs.count, isa: isa)
                }
                ds.withUnsafeMutableBufferPointer { d in
                    ActivationKernels.backward(.gelu, x.baseAddress!, g.baseAddress!, d.baseAddress!,
                                               range: 0..<xs.count, isa: isa)
                }
            }
        }
        #expect(xs.count > 500_000)
        let (worst, at) = conditionedError(ys, xs: xs) { ReferenceActivation.forward(.gelu, $0) }
        #expect(worst < 8, "\(isa) gelu: \(worst) roundoffs (conditioned) at x = \(at)")
        let (dWorst, dAt) = conditionedError(ds, xs: xs) { ReferenceActivation.derivative(.gelu, $0) }
        #expect(dWorst < 8, "\(isa) gelu': \(dWorst) roundoffs (conditioned) at x = \(dAt)")
    }
}
