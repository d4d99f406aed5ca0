import Foundation

/// Branch and bound that certifies a few-bit table: a lower bound on the smallest weighted L2
/// error of any table with `pieces` pieces, tightened until it is within a relative
/// tolerance of the best table found (the incumbent), which it also improves on the way.
///
/// **The bound.** Cut the support into cells [x_j, x_{j+1}]. For an optimal table t* with
/// levels c*, move every border to an end of its cell (r) and keep the levels: the error
/// F(r, c*) >= E(r) >= E_grid, the best error over tables whose borders are nodes. The move
/// costs at most delta_J per cell J holding a border:
///
/// - one border t_k in J: moving it to p = x_j (or q = x_{j+1}) changes F by the integral of
///   +-w [(f' - c_{k+1})^2 - (f' - c_k)^2] = +-w (c_{k+1} - c_k)(2 f' - c_k - c_{k+1}) over
///   [p, t_k] (or [t_k, q]). As t* is optimal, moving t_k within J cannot lower the error, so
///   either one of the two moves does not raise F, or the midpoint (c_k + c_{k+1}) / 2 lies in
///   the range of f' on J; then |2 f' - c_k - c_{k+1}| <= 2 osc_J(f') on J and the cheaper move
///   costs at most |c_{k+1} - c_k| osc_J(f') A_0(J);
/// - several borders in J: the pieces inside J have levels in the range of f' on J; moving
///   the first border to p and the others to q costs at most osc_J(f')^2 A_0(J).
///
/// With R_k a bound on |c_{k+1} - c_k| (the range of f' over where pieces k and k + 1 can
/// lie, which also bounds osc_J), delta_{k,J} = R_k osc_J(f') A_0(J), and
///
///     E* >= E_grid - sum over borders k of max over J that can hold t_k of delta_{k,J}.
///
/// Nothing is assumed about f' beyond the sampling: no smoothness, no convexity, no
/// knowledge of local minima. The bound is second order in the cell width (osc and A_0 are
/// each first order), so a few refinements of the cells near the borders suffice.
///
/// **The branching.** A forward and a backward dynamic programme give, for each border k and
/// node p, the best grid error G_k(p) with border k at p. If min(G_k(p), G_k(q)) - Delta > UB
/// (the incumbent's error), no table with t_k in [p, q] can beat the incumbent (the same
/// move argument applies to the best table constrained to t_k in J), so the cell is
/// discarded for border k. Surviving cells are split where delta is large, and the
/// search repeats. Border k is confined to the hull of its surviving cells, so each
/// row of the programme only spans a few cells per piece.
///
/// **Budget.** Before each round the search counts the programme's states (the nodes each
/// border may take); above `maxStates` it stops with the bound reached so far. While the
/// bound is still loose (the first rounds) no cell can be discarded, so above 4 bits the
/// search starts from the border ranges of ``FewBitCellBound`` (a first-order bound that
/// confines every border cheaply) and from that bound.
///
/// **Numerics.** osc_J is the range of f' sampled at the cell's ends and quadrature nodes,
/// times 1.25 (for a smooth f' the extremum missed between samples is a few percent of the
/// range); cell moments come from the solver's Gauss-Legendre quadrature (relative error
/// about 1e-13); prefix sums are double-double, and the bound subtracts 8 ulp of the
/// total A_2 for the rounding of the programme.
struct FewBitBranchAndBound {
    let solver: FewBitSolver
    let pieces: Int
    /// Target relative gap (UB - LB) / UB.
    let tolerance: Double
    let maxRounds: Int
    /// The most programme states (sum over borders of the nodes each may take) in a round:
    /// the search stops, with the bound reached so far, before a round that needs more.
    let maxStates: Int

    struct Result {
        var borders: [Double]
        var error: Double
        var lowerBound: Double
        var rounds: Int
        var cells: Int
    }

    /// Per-cell data: the moments and the sampled range of f'.
    private struct Cell {
        var a: Double
        var b: Double
        var m0: Double
        var m1: Double
        var m2: Double
        var lo: Double
        var hi: Double
        /// The borders that may lie in this cell (a hull: kMin > kMax for none).
        var kMin = 1
        var kMax = Int.max
    }

    private func makeCell(_ a: Double, _ b: Double) -> Cell {
        let ga = solver.derivative(a), gb = solver.derivative(b)
        var cell = Cell(a: a, b: b, m0: 0, m1: 0, m2: 0, lo: min(ga, gb), hi: max(ga, gb))
        solver.quadrature(a, b) { w, d in
            cell.m0 += w
            cell.m1 += w * d
            cell.m2 += w * d * d
            if d < cell.lo { cell.lo = d }
            if d > cell.hi { cell.hi = d }
        }
        return cell
    }

    /// Runs the search from the incumbent table `start` and the cells between `startNodes`.
    /// `ranges`, when given, confines border k (1...pieces - 1) to [lo[k], hi[k]] from the
    /// start (from ``FewBitCellBound``: every table as good as the incumbent has its borders
    /// there), with `known` a lower bound already proven.
    func run(incumbent start: [Double], nodes startNodes: [Double],
             ranges: (lo: [Double], hi: [Double])? = nil, known: Double = 0) -> Result {
        var best = start
        var upper = solver.error(borders: best)
        let m = pieces - 1
        var cells: [Cell] = []
        let initial = solver.merge(startNodes, with: best)
        for j in 0..<(initial.count - 1) { cells.append(makeCell(initial[j], initial[j + 1])) }
        // Border k (1...m) may lie in [rangeLo[k], rangeHi[k]] (x values); 0 and pieces are the ends.
        var rangeLo = [Double](repeating: solver.lower, count: pieces + 1)
        var rangeHi = [Double](repeating: solver.upper, count: pieces + 1)
        rangeHi[0] = solver.lower
        rangeLo[pieces] = solver.upper
        if let ranges {
            for k in 1..<pieces {
                rangeLo[k] = min(ranges.lo[k], best[k - 1])
                rangeHi[k] = max(ranges.hi[k], best[k - 1])
            }
        }
        var lowerBound = known
        var rounds = 0
        if upper <= 0 || m == 0 {
            return Result(borders: best, error: upper, lowerBound: m == 0 ? upper : 0, rounds: 0, cells: cells.count)
        }
        while rounds < maxRounds {
            rounds += 1
            let n = cells.count
            // Nodes and double-double prefix sums.
            var x = [Double](repeating: 0, count: n + 1)
            x[0] = cells[0].a
            for j in 0..<n { x[j + 1] = cells[j].b }
            let prefix = DoubleDoublePrefix(cells.map { ($0.m0, $0.m1, $0.m2) })
            let total2 = prefix.total2
            let slack = 8 * Double.ulpOfOne * abs(total2)
            // Node index ranges per border.
            var lo = [Int](repeating: 0, count: pieces + 1)
            var hi = [Int](repeating: n, count: pieces + 1)
            hi[0] = 0
            lo[pieces] = n
            for k in 1...m {
                lo[k] = Self.lastNode(x, atMost: rangeLo[k])
                hi[k] = max(lo[k], Self.firstNode(x, atLeast: rangeHi[k]))
            }
            let stateCount = (1...m).reduce(0, { $0 + hi[$1] - lo[$1] + 1 })
            guard stateCount <= maxStates else { break }
            // R_k: range of f' over cells that pieces k and k + 1 can touch, and Delta.
            var delta = [Double](repeating: 0, count: pieces + 1)
            var cellDelta = [Double](repeating: 0, count: n)
            var total = 0.0
            for k in 1...m {
                var gLo = Double.infinity, gHi = -Double.infinity
                for j in lo[k - 1]..<max(lo[k - 1], hi[k + 1]) {
                    gLo = min(gLo, cells[j].lo)
                    gHi = max(gHi, cells[j].hi)
                }
                let r = gHi > gLo ? 1.25 * (gHi - gLo) : 0
                var worst = 0.0
                for j in lo[k]..<max(lo[k], hi[k]) where cells[j].kMin <= k && k <= cells[j].kMax {
                    let d = r * 1.25 * (cells[j].hi - cells[j].lo) * cells[j].m0
                    worst = max(worst, d)
                    cellDelta[j] = max(cellDelta[j], d)
                }
                delta[k] = worst
                total += worst
            }
            let limit = upper * (1 + 1e-12) + total + 2 * slack
            let dp = Self.programme(prefix: prefix, lo: lo, hi: hi, pieces: pieces, limit: limit)
            // A better grid table: refine it off the grid and make it the incumbent.
            guard dp.error.isFinite else { break }
            if dp.error < upper * (1 - 1e-12), Self.strictlyInside(dp.cuts, count: n) {
                let gridBorders = dp.cuts.map { x[$0] }
                let grid = GridMoments(solver: solver, nodes: x, p0: prefix.sums(0), p1: prefix.sums(1), p2: prefix.sums(2))
                var candidate = solver.refine(gridBorders, grid: grid)
                var candidateError = solver.error(borders: candidate)
                let gridError = solver.error(borders: gridBorders)
                if gridError < candidateError { (candidate, candidateError) = (gridBorders, gridError) }
                if candidateError < upper {
                    (best, upper) = (candidate, candidateError)
                }
            }
            lowerBound = max(lowerBound, dp.error - total - slack)
            if upper - lowerBound <= tolerance * upper { break }
            guard rounds < maxRounds else { break }
            // Prune: cells where no border can lie in a table better than the incumbent.
            let keep = upper * (1 + 1e-12) + total + 2 * slack
            var alive = [Bool](repeating: false, count: n)
            var kMin = [Int](repeating: Int.max, count: n)
            var kMax = [Int](repeating: 0, count: n)
            for k in 1...m {
                var first = Int.max, last = -1
                let row = dp.score[k]
                let base = lo[k]
                var bestNode = base
                for p in lo[k]...hi[k] where row[p - base] < row[bestNode - base] { bestNode = p }
                for j in lo[k]..<max(lo[k], hi[k]) where min(row[j - base], row[j + 1 - base]) <= keep {
                    first = min(first, j)
                    last = j
                    alive[j] = true
                    kMin[j] = min(kMin[j], k)
                    kMax[j] = max(kMax[j], k)
                }
                if last < 0 {
                    // Only rounding can leave no cell: keep the cells at the best node.
                    first = max(bestNode - 1, 0)
                    last = min(bestNode, n - 1)
                    for j in first...last {
                        alive[j] = true
                        kMin[j] = min(kMin[j], k)
                        kMax[j] = max(kMax[j], k)
                    }
                }
                // The incumbent's border must stay reachable.
                rangeLo[k] = min(x[first], best[k - 1])
                rangeHi[k] = max(x[last + 1], best[k - 1])
            }
            // Split surviving cells whose delta exceeds the share of the tolerance.
            let share = 0.5 * tolerance * upper / Double(m)
            // The incumbent's borders become nodes, so that its table is a grid table.
            var next: [Cell] = []
            next.reserveCapacity(2 * n)
            var border = 0
            let tiny = 1e-12 * max(1, solver.upper - solver.lower)
            for j in 0..<n {
                var cell = cells[j]
                (cell.kMin, cell.kMax) = (kMin[j], kMax[j])
                var points: [Double] = []
                while border < best.count && best[border] <= cell.a { border += 1 }
                while border < best.count && best[border] < cell.b {
                    if best[border] - cell.a > tiny && cell.b - best[border] > tiny { points.append(best[border]) }
                    border += 1
                }
                let ratio = cellDelta[j] / share
                if alive[j], ratio > 1 {
                    let parts = min(2, Int(ratio.squareRoot().rounded(.up)))
                    points += (1..<parts).map { cell.a + (cell.b - cell.a) * Double($0) / Double(parts) }
                }
                guard !points.isEmpty else {
                    // Runs of cells where no border can lie merge into one.
                    if !alive[j], j > 0, !alive[j - 1], let last = next.last, last.b == cell.a {
                        next[next.count - 1] = Cell(a: last.a, b: cell.b, m0: last.m0 + cell.m0, m1: last.m1 + cell.m1,
                                                    m2: last.m2 + cell.m2, lo: min(last.lo, cell.lo), hi: max(last.hi, cell.hi),
                                                    kMin: cell.kMin, kMax: cell.kMax)
                    } else {
                        next.append(cell)
                    }
                    continue
                }
                points.sort()
                var left = cell.a
                for point in points + [cell.b] where point > left {
                    var part = makeCell(left, point)
                    (part.kMin, part.kMax) = (cell.kMin, cell.kMax)
                    next.append(part)
                    left = point
                }
            }
            cells = next
        }
        return Result(borders: best, error: upper, lowerBound: max(0, lowerBound), rounds: rounds, cells: cells.count)
    }

    /// Whether node indices are strictly ascending and inside (0, count): a table with no empty piece.
    private static func strictlyInside(_ cuts: [Int], count: Int) -> Bool {
        guard let first = cuts.first, let last = cuts.last, first > 0, last < count else { return false }
        return zip(cuts, cuts.dropFirst()).allSatisfy { $0 < $1 }
    }

    /// The last node index with x <= value (0 if none).
    private static func lastNode(_ x: [Double], atMost value: Double) -> Int {
        var lo = 0, hi = x.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if x[mid] <= value { lo = mid + 1 } else { hi = mid }
        }
        return max(lo - 1, 0)
    }

    /// The first node index with x >= value (the last node if none).
    private static func firstNode(_ x: [Double], atLeast value: Double) -> Int {
        var lo = 0, hi = x.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if x[mid] < value { lo = mid + 1 } else { hi = mid }
        }
        return min(lo, x.count - 1)
    }

    /// Forward and backward programmes over tables with at most `pieces` pieces whose border
    /// k is a node in lo[k]...hi[k] (borders may coincide: empty pieces). Returns the best
    /// error, its inner borders (node indices), and score[k][p - lo[k]], the best error with
    /// border k at node p (infinity above `limit`).
    private static func programme(
        prefix: DoubleDoublePrefix, lo: [Int], hi: [Int], pieces: Int, limit: Double
    ) -> (error: Double, cuts: [Int], score: [[Double]]) {
        // A contiguous copy read through a pointer: the loops below are the hot spot, also in
        // debug builds.
        let base = UnsafeMutablePointer<Double>.allocate(capacity: prefix.storage.count)
        defer { base.deallocate() }
        base.update(from: prefix.storage, count: prefix.storage.count)
        let count = prefix.count
        @inline(__always) func cost(_ i: Int, _ j: Int) -> Double {
            DoubleDoublePrefix.cost(base, count: count, i, j)
        }
        // Backward: back[k][p] = best error of [x_p, end] in at most pieces - k pieces.
        var back = [[Double]](repeating: [], count: pieces + 1)
        back[pieces] = [0]
        for k in stride(from: pieces - 1, through: 0, by: -1) {
            var row = [Double](repeating: .infinity, count: hi[k] - lo[k] + 1)
            let nextRow = back[k + 1]
            let (nlo, nhi) = (lo[k + 1], hi[k + 1])
            // The least of the next row from each node on: the scan stops once no later node
            // can do better (the rows are close to monotone, so the stop comes early).
            let floor = RunningMinimum.suffix(nextRow)
            for p in lo[k]...hi[k] {
                var bestValue = p >= nlo && p <= nhi ? nextRow[p - nlo] : .infinity
                var q = max(p + 1, nlo)
                while q <= nhi {
                    let c = cost(p, q)
                    if c + floor[q - nlo] >= bestValue || c > limit { break }
                    let v = c + nextRow[q - nlo]
                    if v < bestValue { bestValue = v }
                    q += 1
                }
                row[p - lo[k]] = bestValue <= limit ? bestValue : .infinity
            }
            back[k] = row
        }
        // Forward, with parents, and the scores.
        var score = [[Double]](repeating: [], count: pieces + 1)
        var parents = [[Int32]](repeating: [], count: pieces + 1)
        var previous: [Double] = [0]
        for k in 1...pieces {
            let count = hi[k] - lo[k] + 1
            var row = [Double](repeating: .infinity, count: count)
            var parent = [Int32](repeating: 0, count: count)
            let (plo, phi) = (lo[k - 1], hi[k - 1])
            let floor = RunningMinimum.prefix(previous)
            for p in lo[k]...hi[k] {
                var bestValue = Double.infinity
                var arg = p
                if p >= plo && p <= phi {
                    bestValue = previous[p - plo]
                }
                var q = min(p - 1, phi)
                while q >= plo {
                    let c = cost(q, p)
                    if c + floor[q - plo] >= bestValue || c > limit { break }
                    let v = previous[q - plo] + c
                    if v < bestValue {
                        bestValue = v
                        arg = q
                    }
                    q -= 1
                }
                row[p - lo[k]] = bestValue <= limit ? bestValue : .infinity
                parent[p - lo[k]] = Int32(arg)
            }
            var s = row
            let backRow = back[k]
            for i in 0..<count { s[i] = row[i] + backRow[i] }
            score[k] = s
            parents[k] = parent
            previous = row
        }
        var cuts = [Int](repeating: 0, count: pieces - 1)
        var j = hi[pieces]
        for k in stride(from: pieces, to: 1, by: -1) {
            let i = Int(parents[k][j - lo[k]])
            cuts[k - 2] = i
            j = i
        }
        return (previous[0], cuts, score)
    }
}
