import Foundation
import Testing
@testable import TensorCore

/// The cell-assignment bound that confines the borders before the second-order search
/// (``FewBitCellBound``), checked against brute force: every 2-bit table whose borders lie
/// on a grid, enumerated.
@Suite struct FewBitCellBoundTests {
    @Test(arguments: [Activation.gelu, .silu, .tanh])
    func boundAndRangesHoldForEveryGridTable(activation: Activation) throws {
        let solver = FewBitSolver(derivative: { activation.derivative($0) }, weight: .uniform(-100, 100))
        let optimal = try FewBitTable.optimal(for: activation, bits: 2)
        // Brute force: borders on 0.1-spaced nodes in [-6, 6], pieces with their best levels.
        let inner = (0...120).map { -6 + Double($0) * 0.1 }
        let nodes = [solver.lower] + inner + [solver.upper]
        let grid = GridMoments(solver: solver, nodes: nodes)
        func cost(_ i: Int, _ j: Int) -> Double {
            let w = grid.p0[j] - grid.p0[i]
            guard w > 0 else { return 0 }
            let a = grid.p1[j] - grid.p1[i]
            return max(0, grid.p2[j] - grid.p2[i] - a * a / w)
        }
        let last = nodes.count - 1
        let piece = (0...last).map { i in (0...last).map { j in j > i ? cost(i, j) : 0 } }

        let upper = optimal.l2Error * 1.02
        let bound = FewBitCellBound(solver: solver, pieces: 4, maxRounds: 8, maxStates: 1_000_000)
            .run(upper: upper, incumbent: optimal.borders.map(Double.init), nodes: solver.grid(cells: 256))

        var best = Double.infinity
        var admitted = 0
        for a in 1..<(last - 2) {
            for b in (a + 1)..<(last - 1) {
                let head = piece[0][a] + piece[a][b]
                for c in (b + 1)..<last {
                    let error = head + piece[b][c] + piece[c][last]
                    best = min(best, error)
                    guard error <= upper else { continue }
                    // A table as good as `upper` has every border inside its range.
                    admitted += 1
                    for (k, index) in [a, b, c].enumerated() {
                        let x = nodes[index]
                        #expect(x >= bound.rangeLo[k + 1] && x <= bound.rangeHi[k + 1],
                                "\(activation): border \(k + 1) at \(x) outside [\(bound.rangeLo[k + 1]), \(bound.rangeHi[k + 1])]")
                    }
                }
            }
        }
        // The bound is below every table (the grid optimum and the certified optimum) ...
        #expect(bound.lowerBound <= best * (1 + 1e-12), "\(activation): bound \(bound.lowerBound) above grid optimum \(best)")
        #expect(bound.lowerBound <= optimal.l2Error)
        // ... and not vacuous: most of the error, short ranges, and tables to check them with.
        #expect(bound.lowerBound >= 0.5 * optimal.l2Error, "\(activation): bound \(bound.lowerBound) vs \(optimal.l2Error)")
        for k in 1...3 {
            #expect(bound.rangeHi[k] - bound.rangeLo[k] < 2, "\(activation): border \(k) range [\(bound.rangeLo[k]), \(bound.rangeHi[k])]")
        }
        #expect(admitted > 1, "\(activation): no grid table within 2% of the optimum")
    }

    /// The double-double prefix sums give each run of cells the same cost as direct sums.
    @Test func prefixCostMatchesDirectSums() {
        let solver = FewBitSolver(derivative: { Activation.gelu.derivative($0) }, weight: .uniform(-100, 100))
        let nodes = solver.grid(cells: 64)
        let moments = (0..<(nodes.count - 1)).map { solver.moments(nodes[$0], nodes[$0 + 1]) }
        let prefix = DoubleDoublePrefix(moments)
        prefix.storage.withUnsafeBufferPointer { base in
            for (i, j) in [(0, 1), (3, 17), (10, 40), (0, moments.count)] {
                let slice = moments[i..<j]
                let w = slice.reduce(0) { $0 + $1.0 }, a = slice.reduce(0) { $0 + $1.1 }, q = slice.reduce(0) { $0 + $1.2 }
                let direct = max(0, q - a * a / w)
                let fromPrefix = DoubleDoublePrefix.cost(base.baseAddress!, count: prefix.count, i, j)
                #expect(abs(fromPrefix - direct) <= 1e-12 * q + 1e-300, "cells \(i)..<\(j): \(fromPrefix) vs \(direct)")
            }
        }
    }
}
