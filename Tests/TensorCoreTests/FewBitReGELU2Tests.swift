import Foundation
import Testing
@testable import TensorCore

/// Approx-BP's ReGELU2 (yyyyychen/LowMemoryBP, lomem/csrc/regelu2_cuda.cu) as a FewBitTable,
/// against its published definition in float64.
@Suite struct FewBitReGELU2Tests {
    static let c: [Double] = [-3.1858810036855245, -0.001178821281161997, 3.190832613414926]
    static let a: [Double] = [-0.04922261145617846, 1.0979632065417297, -0.048740595085551286]

    /// sum_i a_i [x > c_i], the borders compared in float32 as the reference kernels do.
    static func definition(_ x: Float) -> Double {
        zip(a, c).reduce(0) { $0 + (x > Float($1.1) ? $1.0 : 0) }
    }

    static func geluDerivative(_ x: Double) -> Double {
        0.5 * erfc(-x / 2.0.squareRoot()) + x * exp(-x * x / 2) / (2 * Double.pi).squareRoot()
    }

    @Test func tableIsThePublishedStepFunction() {
        let table = FewBitTable.reGELU2
        #expect(table.bits == 2)
        #expect(table.borders == Self.c.map { Float($0) })
        #expect(table.lowerBound == 0)
        var rng = SeededRandom(seed: 3)
        var values = rng.normalFloats(2000, std: 3)
        for border in table.borders { values += [border, border.nextUp, border.nextDown] }
        for x in values {
            let expected = Self.definition(x)
            #expect(abs(Double(table.level(for: x)) - expected) <= 1e-7 * max(1, abs(expected)), "x = \(x)")
            #expect(table.code(for: x) == Self.c.filter { x > Float($0) }.count, "x = \(x)")
        }
    }

    @Test func l2ErrorMatchesAnIndependentIntegral() throws {
        // Mean of (GELU' - q)^2 over [-100, 100], Simpson on each piece of q.
        let table = FewBitTable.reGELU2
        let edges = [-100.0] + table.borders.map(Double.init) + [100.0]
        var integral = 0.0
        for k in 0..<(edges.count - 1) {
            let level = Double(table.levels[k])
            integral += simpson(edges[k], edges[k + 1]) { x in
                let d = Self.geluDerivative(x) - level
                return d * d
            }
        }
        let independent = integral / 200
        #expect(abs(table.l2Error - independent) <= 1e-6 * independent, "\(table.l2Error) vs \(independent)")
        // Fitted to GELU, not GELU': worse than the optimal 2-bit table, and than the optimal 1-bit.
        #expect(try table.l2Error > FewBitTable.optimal(for: .gelu, bits: 2).l2Error)
        #expect(try table.l2Error > FewBitTable.optimal(for: .gelu, bits: 1).l2Error)
        #expect(abs(table.l2Error - 7.84e-4) < 0.01e-4)
    }
}
