import Foundation
import Testing
@testable import TensorCore

/// The activations whose f' is smooth (not piecewise constant).
let smoothActivations: [Activation] = Activation.allCases.filter { !$0.hasPiecewiseConstantDerivative }

/// Composite Simpson integration, independent of the solver's Gauss-Legendre quadrature.
func simpson(_ a: Double, _ b: Double, _ f: (Double) -> Double) -> Double {
    guard b > a else { return 0 }
    let n = 2 * max(64, Int((b - a) * 40))
    let h = (b - a) / Double(n)
    var sum = f(a) + f(b)
    for i in 1..<n { sum += f(a + Double(i) * h) * (i % 2 == 1 ? 4 : 2) }
    return sum * h / 3
}

@Suite struct FewBitTableTests {
    @Test func bitsOutsideRangeThrow() {
        for bits in [0, 9, -1] {
            #expect(throws: TensorError.self) { try FewBitTable.optimal(for: .gelu, bits: bits) }
            #expect(throws: TensorError.self) { try FewBitTable.optimal(derivative: { _ in 1 }, bits: bits) }
        }
        #expect(throws: TensorError.self) { try FewBitTable.optimal(for: .gelu, bits: 2, weight: .uniform(1, -1)) }
        #expect(throws: TensorError.self) { try FewBitTable.optimal(for: .gelu, bits: 2, weight: .gaussian(mean: 0, std: 0)) }
        #expect(throws: TensorError.self) {
            try FewBitTable.optimal(for: .gelu, bits: 2, weight: .histogram(edges: [0, 1], counts: [1, 2]))
        }
        #expect(throws: TensorError.self) { try FewBitTable(borders: [1, 0, 2], levels: [0, 1, 2, 3], derivative: { $0 }) }
    }

    @Test func exactForPiecewiseConstantDerivatives() throws {
        let relu = try FewBitTable.optimal(for: .relu, bits: 1)
        #expect(relu.borders == [0])
        #expect(relu.levels == [0, 1])
        #expect(relu.l2Error == 0)
        #expect(relu.code(for: 0) == 0)
        #expect(relu.code(for: Float.leastNonzeroMagnitude) == 1)
        let leaky = try FewBitTable.optimal(for: .leakyReLU(slope: 0.01), bits: 1)
        #expect(leaky.borders == [0])
        #expect(leaky.levels == [0.01, 1])
        #expect(leaky.l2Error == 0)
        for bits in 1...4 {
            let identity = try FewBitTable.optimal(for: .identity, bits: bits)
            #expect(identity.levels.allSatisfy { $0 == 1 })
            #expect(identity.l2Error == 0)
            for activation in [Activation.relu, .leakyReLU(slope: 0.2)] {
                let table = try FewBitTable.optimal(for: activation, bits: bits)
                #expect(table.l2Error == 0)
                #expect(table.borders.contains(0))
            }
        }
    }

    @Test func codeTiesGoToTheLowerPiece() throws {
        let table = try FewBitTable(borders: [-1, 0, 1], levels: [0, 1, 2, 3], derivative: { $0 })
        #expect(table.code(for: -2) == 0)
        #expect(table.code(for: -1) == 0)
        #expect(table.code(for: Float(-1).nextUp) == 1)
        #expect(table.code(for: 0) == 1)
        #expect(table.code(for: 1) == 2)
        #expect(table.code(for: 1e30) == 3)
        #expect(table.code(for: .infinity) == 3)
        #expect(table.code(for: -.infinity) == 0)
        #expect(table.codes(for: [-5, 0.5, 7]) == [0, 2, 3])
        #expect(table.level(for: 0.5) == 2)
    }

    /// The error integral on tables with a closed-form error.
    @Test func errorIntegralIsExactOnSimpleTables() throws {
        // relu' = 1 on (0, 1] is coded 0 (level 0): error = 1 * (1/200).
        let relu = try FewBitTable(borders: [1], levels: [0, 1], derivative: { Activation.relu.derivative($0) })
        #expect(abs(relu.l2Error - 0.005) < 1e-15)
        // identity' = 1 against 0.5 on [-100, 0]: 0.25 * 100 / 200.
        let identity = try FewBitTable(borders: [0], levels: [0.5, 1], derivative: { _ in 1 })
        #expect(abs(identity.l2Error - 0.125) < 1e-13)
        // tanh' against 0 everywhere: the integral of sech^4 over R is 4/3.
        let tanh = try FewBitTable(borders: [0], levels: [0, 0], derivative: { Activation.tanh.derivative($0) })
        #expect(abs(tanh.l2Error - (4.0 / 3) / 200) < 1e-15)
        let step = try FewBitTable(borders: [0], levels: [0, 1], activation: .gelu)
        let optimal = try FewBitTable.optimal(for: .gelu, bits: 1)
        #expect(abs(step.l2Error - optimal.l2Error) <= 1e-12 * optimal.l2Error)
    }

    /// The dynamic programme against exhaustive search over the same coarse grid, with segment
    /// errors integrated independently (Simpson's rule).
    @Test(arguments: [Activation.gelu, .silu, .tanh, .sigmoid, .elu(alpha: 1)])
    func dynamicProgrammeMatchesBruteForce(activation: Activation) throws {
        let f: @Sendable (Double) -> Double = { activation.derivative($0) }
        let solver = FewBitSolver(derivative: f, weight: .uniform(-100, 100))
        for (bits, step) in [(1, 0.25), (2, 0.5), (3, 1.0)] {
            let inner = Array(stride(from: -6.0, through: 6.0, by: step))
            let nodes = [-100.0] + inner + [100.0]
            let n = nodes.count
            // Segment errors: integral of (f' - mean)^2 / 200 on [nodes[i], nodes[j]].
            var cost = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
            for i in 0..<n {
                for j in (i + 1)..<n {
                    var w0 = 0.0, w1 = 0.0, w2 = 0.0
                    for c in i..<j {
                        w0 += nodes[c + 1] - nodes[c]
                        w1 += simpson(nodes[c], nodes[c + 1], f)
                        w2 += simpson(nodes[c], nodes[c + 1]) { f($0) * f($0) }
                    }
                    cost[i][j] = max(0, w2 - w1 * w1 / w0) / 200
                }
            }
            // Exhaustive search over all choices of 2^b - 1 inner nodes.
            let pieces = 1 << bits
            var best = Double.infinity
            var cuts = [Int](repeating: 0, count: pieces - 1)
            func search(_ depth: Int, _ start: Int, _ acc: Double) {
                if acc >= best { return }
                if depth == pieces - 1 {
                    best = min(best, acc + cost[start][n - 1])
                    return
                }
                for c in (start + 1)..<(n - 1 - (pieces - 2 - depth)) {
                    cuts[depth] = c
                    search(depth + 1, c, acc + cost[start][c])
                }
            }
            search(0, 0, 0)
            let dp = solver.gridOptimum(nodes: nodes, pieces: pieces)
            var dpCost = 0.0
            let all = [0] + dp.cuts + [n - 1]
            for k in 0..<pieces { dpCost += cost[all[k]][all[k + 1]] }
            #expect(abs(dpCost - best) <= 1e-9 * best, "\(activation) \(bits) bits: DP \(dpCost) vs exhaustive \(best)")
            let ownCost = dp.cost
            #expect(abs(ownCost - best) <= 1e-7 * best, "\(activation) \(bits) bits: DP cost \(ownCost)")
        }
    }

    /// At the optimum each level is the mean of f' on its piece (for the uniform weight the
    /// mean is (f(b) - f(a)) / (b - a), in closed form) and each border b satisfies
    /// f'(b) = (left level + right level) / 2.
    @Test(arguments: smoothActivations)
    func stationarity(activation: Activation) throws {
        for bits in 1...5 {
            let table = try FewBitTable.optimal(for: activation, bits: bits)
            let edges = [-100.0] + table.borders.map(Double.init) + [100.0]
            for k in 0..<table.levels.count {
                let mean = (activation.forward(edges[k + 1]) - activation.forward(edges[k])) / (edges[k + 1] - edges[k])
                #expect(abs(Double(table.levels[k]) - mean) <= 1e-6, "\(activation) \(bits) bits level \(k)")
            }
            for k in 0..<table.borders.count {
                let mid = 0.5 * Double(table.levels[k] + table.levels[k + 1])
                let gap = abs(Double(table.levels[k + 1] - table.levels[k]))
                #expect(abs(activation.derivative(edges[k + 1]) - mid) <= 1e-5 * max(gap, 1e-2),
                        "\(activation) \(bits) bits border \(k)")
            }
        }
    }

    /// f'(x) + f'(-x) = 1 for GELU and SiLU: the optimal table is antisymmetric about (0, 1/2).
    @Test(arguments: [Activation.gelu, .geluTanh, .silu])
    func symmetry(activation: Activation) throws {
        #expect(try FewBitTable.optimal(for: activation, bits: 1).borders == [0])
        for bits in 1...5 {
            let table = try FewBitTable.optimal(for: activation, bits: bits)
            let m = table.borders.count
            for i in 0..<m {
                #expect(abs(table.borders[i] + table.borders[m - 1 - i]) <= 1e-5, "\(activation) \(bits) bits border \(i)")
            }
            for i in 0..<table.levels.count {
                #expect(abs(table.levels[i] + table.levels[table.levels.count - 1 - i] - 1) <= 1e-5,
                        "\(activation) \(bits) bits level \(i)")
            }
        }
    }

    @Test(arguments: smoothActivations)
    func errorFallsWithBitsAndBordersAscend(activation: Activation) throws {
        var previous = Double.infinity
        // Up to 6 bits for GELU, 5 for the others, to keep the debug run short.
        for bits in 1...(activation == .gelu ? 6 : 5) {
            let table = try FewBitTable.optimal(for: activation, bits: bits)
            #expect(table.bits == bits)
            #expect(table.borders.count == (1 << bits) - 1 && table.levels.count == 1 << bits)
            #expect(zip(table.borders, table.borders.dropFirst()).allSatisfy { $0 < $1 })
            #expect(table.l2Error > 0 && table.l2Error < previous, "\(activation) \(bits) bits")
            // Roughly 4x less error per extra bit once the pieces are small.
            if bits >= 4 { #expect(table.l2Error < 0.4 * previous) }
            previous = table.l2Error
        }
    }

    /// The optimum does not depend on the grid the dynamic programme starts from: the
    /// refined result from a grid of 512 cells equals the one from 2048 cells.
    @Test(arguments: [Activation.gelu, .mish, .sigmoid, .elu(alpha: 1)])
    func independentOfTheGrid(activation: Activation) {
        for bits in 2...4 {
            let coarse = FewBitTable.compute(derivative: { activation.derivative($0) }, bits: bits,
                                             weight: .uniform(-100, 100), cells: 512)
            let fine = FewBitTable.compute(derivative: { activation.derivative($0) }, bits: bits,
                                           weight: .uniform(-100, 100), cells: 2048)
            #expect(abs(coarse.l2Error - fine.l2Error) <= 1e-12 * fine.l2Error, "\(activation) \(bits) bits")
            for (a, b) in zip(coarse.borders, fine.borders) { #expect(abs(a - b) <= 1e-6) }
        }
    }

    @Test func userDerivativeMatchesTheActivation() throws {
        let viaClosure = try FewBitTable.optimal(derivative: { Activation.silu.derivative($0) }, bits: 3)
        let viaActivation = try FewBitTable.optimal(for: .silu, bits: 3)
        #expect(viaClosure == viaActivation)
        // A piecewise-constant user derivative with a jump at 0 is exact at 1 bit.
        let step = try FewBitTable.optimal(derivative: { $0 > 0 ? 0.75 : -0.25 }, bits: 1)
        #expect(step.borders == [0] && step.levels == [-0.25, 0.75] && step.l2Error == 0)
        // Jumps away from 0 (a hard sigmoid's derivative) are found to within the fine grid.
        let hard = try FewBitTable.optimal(derivative: { abs($0) < 3 ? 1.0 / 6 : 0 }, bits: 2)
        #expect(hard.borders.contains { abs($0 + 3) < 1e-3 } && hard.borders.contains { abs($0 - 3) < 1e-3 })
        #expect(hard.l2Error < 1e-8)
    }

    @Test func otherWeights() throws {
        // Gaussian: stationary, symmetric for GELU, and borders pulled in towards the mass.
        let normal = FewBitWeight.gaussian(mean: 0, std: 1)
        let g = try FewBitTable.optimal(for: .gelu, bits: 3, weight: normal)
        let uniform = try FewBitTable.optimal(for: .gelu, bits: 3)
        #expect(g.borders.last! < uniform.borders.last!)
        for i in 0..<g.borders.count { #expect(abs(g.borders[i] + g.borders[6 - i]) <= 1e-5) }
        for k in 0..<g.borders.count {
            let mid = 0.5 * Double(g.levels[k] + g.levels[k + 1])
            #expect(abs(Activation.gelu.derivative(Double(g.borders[k])) - mid) <= 1e-5)
        }
        // Each level is the Gaussian-weighted mean of f' on its piece (Simpson check).
        let pdf = { (x: Double) in exp(-0.5 * x * x) / (2 * Double.pi).squareRoot() }
        let edges = [-12.0] + g.borders.map(Double.init) + [12.0]
        for k in 0..<g.levels.count {
            let w0 = simpson(edges[k], edges[k + 1], pdf)
            let w1 = simpson(edges[k], edges[k + 1]) { pdf($0) * Activation.gelu.derivative($0) }
            #expect(abs(Double(g.levels[k]) - w1 / w0) <= 1e-6)
        }
        // Histogram: all mass in [0, 2]; the table concentrates there.
        let h = try FewBitTable.optimal(for: .tanh, bits: 2, weight: .histogram(edges: [-1, 0, 1, 2], counts: [0, 3, 1]))
        #expect(h.borders.allSatisfy { $0 > 0 && $0 < 2 })
        #expect(h.l2Error > 0)
        let hUniform = try FewBitTable(borders: h.borders, levels: h.levels, derivative: { Activation.tanh.derivative($0) },
                                       weight: .histogram(edges: [-1, 0, 1, 2], counts: [0, 3, 1]))
        #expect(abs(hUniform.l2Error - h.l2Error) <= 1e-15)
    }
}
