import Foundation
import Testing
@testable import TensorCore

/// The branch-and-bound certificate of the optimal tables: `lowerBound` is within the tolerance
/// of the table's error, and it is a real lower bound (no table found independently beats it).
@Suite struct FewBitCertificateTests {
    static let tolerance = FewBitTable.certificateTolerance

    /// Every contract activation, the default uniform weight: certified at 1...5 bits. (Above,
    /// `optimal` does not run the search and leaves the bound at 0: checked at 6 bits in
    /// ``gapWithinToleranceOtherWeights()``; 7- and 8-bit tables cost seconds each in a debug
    /// build and prove nothing more here. `tensorbench fewbit certify=6,7,8` certifies them.)
    @Test(arguments: Activation.allCases)
    func gapWithinToleranceUniform(activation: Activation) throws {
        for bits in 1...FewBitTable.maxCertifiedBits {
            let table = try FewBitTable.optimal(for: activation, bits: bits)
            #expect(table.lowerBound <= table.l2Error)
            #expect(table.lowerBound >= 0)
            #expect(table.optimalityGap <= Self.tolerance, "\(activation) \(bits) bits: gap \(table.optimalityGap)")
        }
    }

    @Test func gapWithinToleranceOtherWeights() throws {
        let normal = FewBitWeight.gaussian(mean: 0, std: 1)
        let seen = FewBitWeight.histogram(edges: [-4, -1, 0, 0.5, 2, 5], counts: [5, 30, 40, 20, 5])
        let cases: [(Activation, Int, FewBitWeight)] = [
            (.gelu, 3, normal), (.silu, 4, normal), (.tanh, 4, normal),
            (.gelu, 4, seen), (.sigmoid, 3, seen),
        ]
        for (activation, bits, weight) in cases {
            let table = try FewBitTable.optimal(for: activation, bits: bits, weight: weight)
            #expect(table.lowerBound <= table.l2Error)
            #expect(table.optimalityGap <= Self.tolerance, "\(activation) \(bits) bits \(weight): gap \(table.optimalityGap)")
        }
        // A user-supplied smooth derivative (softsign').
        let softsign = try FewBitTable.optimal(derivative: { 1 / ((1 + abs($0)) * (1 + abs($0))) }, bits: 4)
        #expect(softsign.optimalityGap <= Self.tolerance)
        // `certified` at 6 bits, where `optimal` leaves the bound at 0 (the cell bound first
        // confines the borders, then the second-order search closes the gap).
        let six = try FewBitTable.certified(derivative: { Activation.tanh.derivative($0) }, bits: 6)
        let plain = try FewBitTable.optimal(for: .tanh, bits: 6)
        #expect(plain.lowerBound == 0)
        #expect(six.optimalityGap <= Self.tolerance, "tanh 6 bits: gap \(six.optimalityGap)")
        #expect(six.l2Error <= plain.l2Error * (1 + 1e-9))
        // A table built from its parts knows nothing.
        let mine = try FewBitTable(borders: [0], levels: [0, 1], activation: .gelu)
        #expect(mine.lowerBound == 0 && mine.optimalityGap == 1)
    }

    /// One border: the error as a function of the border, scanned on a fine grid and polished
    /// by golden-section search (no dynamic programme), never goes below the bound and its
    /// minimum is the table's error within the tolerance.
    @Test(arguments: [Activation.gelu, .silu, .mish, .tanh, .sigmoid, .elu(alpha: 1), .softplus])
    func oneBorderScanAgreesWithTheBound(activation: Activation) throws {
        let table = try FewBitTable.optimal(for: activation, bits: 1)
        let solver = FewBitSolver(derivative: { activation.derivative($0) }, weight: .uniform(-100, 100))
        var bestX = 0.0, best = Double.infinity
        for i in 0...4000 {
            let x = -20 + Double(i) * 0.01
            let e = solver.error(borders: [x])
            #expect(e >= table.lowerBound * (1 - 1e-12))
            if e < best { (best, bestX) = (e, x) }
        }
        var (a, b) = (bestX - 0.01, bestX + 0.01)
        let ratio = (5.0.squareRoot() - 1) / 2
        for _ in 0..<60 {
            let (c, d) = (b - ratio * (b - a), a + ratio * (b - a))
            if solver.error(borders: [c]) < solver.error(borders: [d]) { b = d } else { a = c }
        }
        let polished = solver.error(borders: [0.5 * (a + b)])
        #expect(polished >= table.lowerBound * (1 - 1e-12))
        #expect(abs(polished - table.l2Error) <= Self.tolerance * table.l2Error, "\(activation): scan \(polished) table \(table.l2Error)")
    }

    /// Local searches from many random starts (random ascending borders, then Newton on the
    /// stationarity conditions, whose result is a local minimum of the directly integrated
    /// error) never find an error below the certified lower bound.
    @Test(arguments: [Activation.gelu, .silu, .mish, .tanh])
    func randomStartsNeverBeatTheBound(activation: Activation) throws {
        var generator = SeededRandom(seed: 0x5eed)
        let solver = FewBitSolver(derivative: { activation.derivative($0) }, weight: .uniform(-100, 100))
        let grid = GridMoments(solver: solver, nodes: solver.grid(cells: 1024))
        for bits in 2...5 {
            let table = try FewBitTable.optimal(for: activation, bits: bits)
            for _ in 0..<6 {
                let start = (0..<((1 << bits) - 1)).map { _ in -8 + 16 * generator.nextUniform() }.sorted()
                let local = solver.refine(start, grid: grid)
                let error = solver.error(borders: local)
                #expect(error >= table.lowerBound * (1 - 1e-12),
                        "\(activation) \(bits) bits: local search \(error) below bound \(table.lowerBound)")
            }
        }
    }
}
