import Foundation

/// A first-order lower bound on the error of every few-bit table, used to confine each border
/// to a short range before the second-order search (``FewBitBranchAndBound``) runs.
///
/// **The bound.** Cut the support into cells. Take any table t (borders t_1 <= ... <= t_m,
/// any levels) and let border k lie in cell c_k (c_1 <= ... <= c_m). Piece k is [t_k, t_{k+1}]
/// with the outer ends t_0 = L and t_K = H; it contains the inner interval from the right end
/// of cell c_k to the left end of cell c_{k+1} (empty when the borders share a cell or lie in
/// neighbouring cells). The integrand w (f' - level)^2 is not negative, so the piece's error
/// is at least that of its inner interval with the interval's own best level (its A_2 - A_1^2
/// / A_0). Summed over the disjoint pieces: the error of t is at least the cost of its cell
/// assignment, and
///
///     E* >= LB_cell = min over non-decreasing cell assignments of the sum of inner costs,
///
/// a dynamic programme over (border, cell) with the same prefix moments as the grid
/// programme. Nothing is assumed about f' beyond the quadrature of the cell moments.
///
/// **Pruning.** Forward and backward programmes give, for each border k and cell J, the best
/// bound over tables with t_k in J; above the incumbent's error UB no table better than the
/// incumbent (so no optimal table) has t_k in J. Each border keeps the hull of its surviving
/// cells, those cells are halved, and the search repeats. The bound loses about three cell
/// widths per piece length of each piece's error (first order), so it confines borders long
/// before it proves a small gap: that is the second-order search's job on the short ranges.
///
/// **Numerics.** Prefix sums are double-double and the bound subtracts 8 ulp of the total
/// A_2 for the programme's rounding, as in ``FewBitBranchAndBound``.
struct FewBitCellBound {
    let solver: FewBitSolver
    let pieces: Int
    /// Rounds of prune-and-halve at most.
    let maxRounds: Int
    /// The most programme states (sum over borders of the cells each may take) in a round.
    let maxStates: Int
    /// Stop once the ranges hold at most this many start nodes in all (the second-order
    /// search's states).
    var targetStates: Int = 0

    struct Result {
        /// The best bound reached (0 if none).
        var lowerBound: Double
        /// Border k (1...pieces - 1) lies in [rangeLo[k], rangeHi[k]] in every table with an
        /// error at most the incumbent's (index 0 and pieces: the support's ends).
        var rangeLo: [Double]
        var rangeHi: [Double]
        var rounds: Int
        /// Programme states of the last round run.
        var states: Int
        /// Start nodes in the ranges, summed over the borders.
        var coarseStates = Int.max
    }

    /// Runs the rounds from the cells between `startNodes` (sorted, from the lower to the
    /// upper end of the support) against the incumbent error `upper` of the table `incumbent`.
    func run(upper: Double, incumbent: [Double], nodes startNodes: [Double]) -> Result {
        let m = pieces - 1
        var rangeLo = [Double](repeating: solver.lower, count: pieces + 1)
        var rangeHi = [Double](repeating: solver.upper, count: pieces + 1)
        rangeHi[0] = solver.lower
        rangeLo[pieces] = solver.upper
        var result = Result(lowerBound: 0, rangeLo: rangeLo, rangeHi: rangeHi, rounds: 0, states: 0)
        guard m > 0, upper > 0 else { return result }
        var x = startNodes
        var moments = (0..<(x.count - 1)).map { solver.moments(x[$0], x[$0 + 1]) }
        while result.rounds < maxRounds {
            let n = x.count - 1
            // Border k may lie in cells clo[k]...chi[k].
            var clo = [Int](repeating: 0, count: pieces + 1)
            var chi = [Int](repeating: 0, count: pieces + 1)
            var states = 0
            for k in 1...m {
                clo[k] = Self.cell(x, startingAt: rangeLo[k])
                chi[k] = max(clo[k], Self.cell(x, endingAt: rangeHi[k]))
                states += chi[k] - clo[k] + 1
            }
            guard states <= maxStates else { break }
            result.rounds += 1
            result.states = states
            let prefix = DoubleDoublePrefix(moments)
            let slack = 8 * Double.ulpOfOne * abs(prefix.total2)
            let keep = upper * (1 + 1e-12) + 2 * slack
            let dp = Self.programme(prefix: prefix, clo: clo, chi: chi, cells: n, pieces: pieces, limit: keep)
            result.lowerBound = max(result.lowerBound, dp.bound - slack)
            guard dp.bound.isFinite else { break }
            // Prune: the hull of the cells each border may still lie in (and the incumbent's cell).
            var split = [Bool](repeating: false, count: n)
            for k in 1...m {
                let row = dp.score[k]
                var first = Int.max, last = -1
                for c in clo[k]...chi[k] where row[c - clo[k]] <= keep {
                    first = min(first, c)
                    last = c
                }
                let own = Self.cell(x, containing: incumbent[k - 1])
                first = min(first, own)
                last = max(last, own)
                rangeLo[k] = x[first]
                rangeHi[k] = x[last + 1]
                for c in first...last { split[c] = true }
            }
            result.rangeLo = rangeLo
            result.rangeHi = rangeHi
            // Done when the second-order search fits: its states are the start nodes in range.
            let coarse = (1...m).reduce(0) { total, k in
                total + Self.cell(startNodes, endingAt: rangeHi[k]) - Self.cell(startNodes, startingAt: rangeLo[k]) + 2
            }
            result.coarseStates = coarse
            if coarse <= targetStates || result.rounds >= maxRounds { break }
            // Halve the cells a border may lie in.
            var nextX: [Double] = [x[0]]
            var nextMoments: [(Double, Double, Double)] = []
            nextX.reserveCapacity(2 * x.count)
            nextMoments.reserveCapacity(2 * n)
            for c in 0..<n {
                let (a, b) = (x[c], x[c + 1])
                let mid = 0.5 * (a + b)
                if split[c], mid > a, mid < b {
                    nextMoments.append(solver.moments(a, mid))
                    nextMoments.append(solver.moments(mid, b))
                    nextX.append(mid)
                } else {
                    nextMoments.append(moments[c])
                }
                nextX.append(b)
            }
            x = nextX
            moments = nextMoments
        }
        return result
    }

    /// The cell whose left node is `value` (the last cell whose left node is <= value).
    private static func cell(_ x: [Double], startingAt value: Double) -> Int {
        min(cell(x, containing: value), x.count - 2)
    }

    /// The cell whose right node is `value` (the first cell whose right node is >= value).
    private static func cell(_ x: [Double], endingAt value: Double) -> Int {
        var lo = 1, hi = x.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if x[mid] < value { lo = mid + 1 } else { hi = mid }
        }
        return lo - 1
    }

    /// The cell [x_c, x_{c+1}) holding value (clamped to the cells).
    private static func cell(_ x: [Double], containing value: Double) -> Int {
        var lo = 0, hi = x.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if x[mid] <= value { lo = mid + 1 } else { hi = mid }
        }
        return min(max(lo - 1, 0), x.count - 2)
    }

    /// Forward and backward programmes over cell assignments. Slots: slot s = c + 1 for cell c,
    /// slot 0 for the lower end (border 0) and slot n + 1 for the upper end (border K); the
    /// piece from a border in slot s to the next in slot s' >= s has the inner interval
    /// [x_s, x_{s'-1}] (empty unless s' - 1 > s). Returns the bound and score[k][c - clo[k]],
    /// the best bound with border k in cell c (infinity above `limit`).
    static func programme(
        prefix: DoubleDoublePrefix, clo: [Int], chi: [Int], cells n: Int, pieces: Int, limit: Double
    ) -> (bound: Double, score: [[Double]]) {
        var slo = clo.map { $0 + 1 }, shi = chi.map { $0 + 1 }
        (slo[0], shi[0]) = (0, 0)
        (slo[pieces], shi[pieces]) = (n + 1, n + 1)
        let base = UnsafeMutablePointer<Double>.allocate(capacity: prefix.storage.count)
        defer { base.deallocate() }
        base.update(from: prefix.storage, count: prefix.storage.count)
        let count = prefix.count
        // Inner cost of the piece from slot s to slot t (t >= s).
        @inline(__always) func cost(_ s: Int, _ t: Int) -> Double {
            t - 1 > s ? DoubleDoublePrefix.cost(base, count: count, s, t - 1) : 0
        }
        // Backward: back[k][s - slo[k]] = best bound of the pieces after border k in slot s.
        var back = [[Double]](repeating: [], count: pieces + 1)
        back[pieces] = [0]
        for k in stride(from: pieces - 1, through: 0, by: -1) {
            var row = [Double](repeating: .infinity, count: shi[k] - slo[k] + 1)
            let nextRow = back[k + 1]
            let (nlo, nhi) = (slo[k + 1], shi[k + 1])
            // floor[i]: the least of next[i...], so that the scan stops as soon as no later
            // slot can do better (the rows are close to monotone: the stop comes early).
            let floor = RunningMinimum.suffix(nextRow)
            row.withUnsafeMutableBufferPointer { out in
                nextRow.withUnsafeBufferPointer { next in
                    for s in slo[k]...shi[k] {
                        var best = Double.infinity
                        var t = max(s, nlo)
                        while t <= nhi {
                            let c = cost(s, t)
                            if c + floor[t - nlo] >= best || c > limit { break }
                            let v = c + next[t - nlo]
                            if v < best { best = v }
                            t += 1
                        }
                        out[s - slo[k]] = best <= limit ? best : .infinity
                    }
                }
            }
            back[k] = row
        }
        // Forward, and the scores.
        var score = [[Double]](repeating: [], count: pieces + 1)
        var previous: [Double] = [0]
        for k in 1...pieces {
            var row = [Double](repeating: .infinity, count: shi[k] - slo[k] + 1)
            let (plo, phi) = (slo[k - 1], shi[k - 1])
            let floor = RunningMinimum.prefix(previous)
            row.withUnsafeMutableBufferPointer { out in
                previous.withUnsafeBufferPointer { prev in
                    for t in slo[k]...shi[k] {
                        var best = Double.infinity
                        var s = min(t, phi)
                        while s >= plo {
                            let c = cost(s, t)
                            if c + floor[s - plo] >= best || c > limit { break }
                            let v = prev[s - plo] + c
                            if v < best { best = v }
                            s -= 1
                        }
                        out[t - slo[k]] = best <= limit ? best : .infinity
                    }
                }
            }
            if k < pieces {
                let backRow = back[k]
                score[k] = (0..<row.count).map { row[$0] + backRow[$0] }
            }
            previous = row
        }
        return (previous[0], score)
    }
}
