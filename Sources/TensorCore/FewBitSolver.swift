import Foundation

/// The numerical core behind ``FewBitTable/optimal(for:bits:weight:)``: quadrature of the
/// weighted moments of f', the dynamic programme over a grid of candidate borders, and the
/// Newton refinement of the borders off the grid.
///
/// Notation: the support [L, H] of w is cut by inner borders t_1 < ... < t_{K-1} into K
/// pieces; on piece k, A_n = integral of w f'^n, the best level is l_k = A_1 / A_0, and the
/// piece's error is the integral of w (f' - l_k)^2 = A_2 - A_1^2 / A_0.
struct FewBitSolver: Sendable {
    let derivative: @Sendable (Double) -> Double
    let density: @Sendable (Double) -> Double
    let lower: Double
    let upper: Double
    /// Sorted points strictly inside (lower, upper) where f' or w may jump: 0 and histogram edges.
    let breakpoints: [Double]
    /// Largest quadrature sub-interval.
    let step: Double

    init(derivative: @escaping @Sendable (Double) -> Double, weight: FewBitWeight) {
        self.derivative = derivative
        self.density = weight.density()
        let (lower, upper) = weight.support
        self.lower = lower
        self.upper = upper
        var points = weight.breakpoints
        if lower < 0, upper > 0 { points.append(0) }
        breakpoints = Array(Set(points)).filter { $0 > lower && $0 < upper }.sorted()
        step = weight.quadratureStep
    }

    // MARK: Quadrature

    /// 8-point Gauss-Legendre nodes and weights on [-1, 1] (positive half).
    private static let glNodes: [Double] = [
        0.1834346424956498049394761, 0.5255324099163289858177390,
        0.7966664774136267395915539, 0.9602898564975362316835609,
    ]
    private static let glWeights: [Double] = [
        0.3626837833783619829651504, 0.3137066458778872873379622,
        0.2223810344533744705443560, 0.1012285362903762591525314,
    ]

    /// Calls `body(quadratureWeight * w(x), f'(x))` at every quadrature node of [a, b]:
    /// split at the breakpoints, then into equal parts no longer than `step`.
    @inline(__always)
    func quadrature(_ a: Double, _ b: Double, _ body: (Double, Double) -> Void) {
        guard b > a else { return }
        // First breakpoint > a.
        var lo = 0
        var hi = breakpoints.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if breakpoints[mid] <= a { lo = mid + 1 } else { hi = mid }
        }
        var start = a
        var index = lo
        while start < b {
            let end = index < breakpoints.count && breakpoints[index] < b ? breakpoints[index] : b
            index += 1
            let parts = max(1, Int(((end - start) / step).rounded(.up)))
            let width = (end - start) / Double(parts)
            for part in 0..<parts {
                let left = start + Double(part) * width
                let right = part == parts - 1 ? end : left + width
                let center = 0.5 * (left + right)
                let half = 0.5 * (right - left)
                for n in 0..<4 {
                    let offset = half * Self.glNodes[n]
                    let g = half * Self.glWeights[n]
                    let x1 = center - offset
                    let x2 = center + offset
                    body(g * density(x1), derivative(x1))
                    body(g * density(x2), derivative(x2))
                }
            }
            start = end
        }
    }

    /// (A_0, A_1, A_2) on [a, b].
    func moments(_ a: Double, _ b: Double) -> (Double, Double, Double) {
        var m0 = 0.0, m1 = 0.0, m2 = 0.0
        quadrature(a, b) { w, d in
            m0 += w
            m1 += w * d
            m2 += w * d * d
        }
        return (m0, m1, m2)
    }

    /// The integral of w (f' - level)^2 on [a, b], without cancellation.
    func squaredError(_ a: Double, _ b: Double, level: Double) -> Double {
        var sum = 0.0
        quadrature(a, b) { w, d in
            let e = d - level
            sum += w * e * e
        }
        return sum
    }

    /// The best level on [a, b]: the w-weighted mean of f' (f' at the midpoint where w is 0).
    func level(_ a: Double, _ b: Double) -> Double {
        let (m0, m1, _) = moments(a, b)
        return m0 > 0 ? m1 / m0 : derivative(0.5 * (a + b))
    }

    /// The piece ends: lower, the inner borders clamped into the support, upper.
    func edges(_ borders: [Double]) -> [Double] {
        [lower] + borders.map { min(max($0, lower), upper) } + [upper]
    }

    /// The L2 error of the table (borders, levels) under w.
    func error(borders: [Double], levels: [Double]) -> Double {
        let e = edges(borders)
        var total = 0.0
        for k in 0..<levels.count where e[k + 1] > e[k] {
            total += squaredError(e[k], e[k + 1], level: levels[k])
        }
        return total
    }

    /// The L2 error with the best levels for these borders.
    func error(borders: [Double]) -> Double {
        let e = edges(borders)
        var total = 0.0
        for k in 0..<(borders.count + 1) where e[k + 1] > e[k] {
            total += squaredError(e[k], e[k + 1], level: level(e[k], e[k + 1]))
        }
        return total
    }

    // MARK: Grid

    /// `cells + 1` candidate border positions (plus 0 and the ends), denser where the
    /// asymptotically optimal border density (w f''^2)^(1/3) is high, with 5% of the
    /// points spread by w alone so that no region of the support is left without candidates.
    func grid(cells: Int) -> [Double] {
        let probes = 4000
        let h = (upper - lower) / Double(probes)
        var values = [Double](repeating: 0, count: probes + 1)
        for i in 0...probes { values[i] = derivative(lower + Double(i) * h) }
        var curvature = [Double](repeating: 0, count: probes)
        var mass = [Double](repeating: 0, count: probes)
        for i in 0..<probes {
            let w = density(lower + (Double(i) + 0.5) * h)
            let slope = (values[i + 1] - values[i]) / h
            curvature[i] = slope.isFinite ? cbrt(w * slope * slope) * h : 0
            mass[i] = w * h
        }
        let curvatureTotal = curvature.reduce(0, +)
        let massTotal = mass.reduce(0, +)
        let alpha = curvatureTotal > 0 && curvatureTotal.isFinite ? 0.95 : 0
        var cdf = [Double](repeating: 0, count: probes + 1)
        for i in 0..<probes {
            var p = (1 - alpha) * (massTotal > 0 ? mass[i] / massTotal : 1 / Double(probes))
            if alpha > 0 { p += alpha * curvature[i] / curvatureTotal }
            cdf[i + 1] = cdf[i] + p
        }
        let total = cdf[probes]
        var nodes: [Double] = []
        var cell = 0
        for j in 1..<cells {
            let q = total * Double(j) / Double(cells)
            while cell < probes - 1 && cdf[cell + 1] < q { cell += 1 }
            let width = cdf[cell + 1] - cdf[cell]
            let fraction = width > 0 ? min(max((q - cdf[cell]) / width, 0), 1) : 0.5
            nodes.append(lower + (Double(cell) + fraction) * h)
        }
        // The ends and the breakpoints stay exactly; quantile points too close to them or
        // to each other go.
        let tolerance = 1e-12 * max(1, upper - lower)
        let fixed = [lower] + breakpoints + [upper]
        var merged: [(x: Double, fixed: Bool)] = fixed.map { ($0, true) }
        merged += nodes.filter { x in !fixed.contains { abs($0 - x) <= tolerance } }.map { ($0, false) }
        merged.sort { $0.x < $1.x }
        var unique: [Double] = [lower]
        for node in merged.dropFirst() {
            if node.fixed {
                if let last = unique.last, last > node.x - tolerance, unique.count > 1,
                   !fixed.contains(last) { unique.removeLast() }
                unique.append(node.x)
            } else if node.x - unique[unique.count - 1] > tolerance {
                unique.append(node.x)
            }
        }
        return unique
    }

    /// The grid with these extra points (refined borders) merged in, sorted, without
    /// points closer than 1e-12 of the support's width.
    func merge(_ nodes: [Double], with points: [Double]) -> [Double] {
        let tolerance = 1e-12 * max(1, upper - lower)
        var merged = nodes
        for x in points where x > lower && x < upper {
            var lo = 0
            var hi = merged.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if merged[mid] < x { lo = mid + 1 } else { hi = mid }
            }
            let clear = (lo == merged.count || merged[lo] - x > tolerance) && (lo == 0 || x - merged[lo - 1] > tolerance)
            if clear { merged.insert(x, at: lo) }
        }
        return merged
    }

    // MARK: Dynamic programme

    /// The best partition of [nodes.first, nodes.last] into exactly `pieces` pieces whose
    /// borders are nodes: the indices of the inner borders and the total error.
    ///
    /// D[k][j] = min over i < j of D[k-1][i] + c(i, j), with c(i, j) the error of the piece
    /// [nodes[i], nodes[j]] from prefix sums of A_0, A_1, A_2. Exact pruning: scanning i
    /// downwards, c(i, j) never decreases (a longer piece cannot have a smaller error) and
    /// D >= 0, so the scan stops as soon as c(i, j) reaches the best value found.
    func gridOptimum(nodes: [Double], pieces: Int) -> (cuts: [Int], cost: Double) {
        gridOptimum(GridMoments(solver: self, nodes: nodes), pieces: pieces)
    }

    ///
    /// `bound`, when given, is an upper bound on the optimum (the error of some partition on
    /// this grid). Every piece of the optimal partition costs at most the total, so segments
    /// with c(i, j) > bound and states with D > bound are skipped: still exact, much faster.
    /// If no partition meets the bound (it was too small), the search reruns without one.
    func gridOptimum(_ grid: GridMoments, pieces: Int, bound: Double = .infinity) -> (cuts: [Int], cost: Double) {
        let n = grid.nodes.count - 1
        precondition(n >= pieces && pieces >= 1, "need at least as many grid cells as pieces")
        // Segment errors below this are rounding noise of the prefix sums and count as 0,
        // so that exact ties (a piecewise-constant f') resolve at once.
        let noise = 1e-13 * max(grid.p2[n], Double.leastNormalMagnitude)
        let limit = bound < .infinity ? bound * (1 + 1e-9) + 2 * noise : .infinity
        let stride = n + 1
        let s0 = UnsafeMutablePointer<Double>.allocate(capacity: stride)
        let s1 = UnsafeMutablePointer<Double>.allocate(capacity: stride)
        let s2 = UnsafeMutablePointer<Double>.allocate(capacity: stride)
        var previous = UnsafeMutablePointer<Double>.allocate(capacity: stride)
        var current = UnsafeMutablePointer<Double>.allocate(capacity: stride)
        let parent = UnsafeMutablePointer<Int32>.allocate(capacity: pieces * stride)
        defer {
            s0.deallocate(); s1.deallocate(); s2.deallocate()
            previous.deallocate(); current.deallocate(); parent.deallocate()
        }
        for i in 0...n {
            s0[i] = grid.p0[i]
            s1[i] = grid.p1[i]
            s2[i] = grid.p2[i]
        }
        previous.initialize(repeating: .infinity, count: stride)
        current.initialize(repeating: .infinity, count: stride)
        parent.initialize(repeating: 0, count: pieces * stride)
        for j in 1...n {
            let w = s0[j] - s0[0]
            let a = s1[j] - s1[0]
            let c = w > 0 ? (s2[j] - s2[0]) - a * a / w : 0
            previous[j] = c > noise ? (c <= limit ? c : .infinity) : 0
        }
        if pieces > 1 {
            for k in 2...pieces {
                // Piece k ends at j; the k - 1 pieces before need k - 1 cells, the
                // pieces - k after need pieces - k cells.
                let firstJ = k == pieces ? n : k
                let lastJ = k == pieces ? n : n - (pieces - k)
                let row = parent + (k - 1) * stride
                var j = firstJ
                while j <= lastJ {
                    let w0 = s0[j], w1 = s1[j], w2 = s2[j]
                    var best = Double.infinity
                    var arg = j - 1
                    var i = j - 1
                    while i >= k - 1 {
                        let w = w0 - s0[i]
                        let a = w1 - s1[i]
                        var c = w > 0 ? (w2 - s2[i]) - a * a / w : 0
                        if c <= noise { c = 0 }
                        if c >= best || c > limit { break }
                        let v = previous[i] + c
                        if v < best {
                            best = v
                            arg = i
                        }
                        i -= 1
                    }
                    current[j] = best <= limit ? best : .infinity
                    row[j] = Int32(arg)
                    j += 1
                }
                swap(&previous, &current)
                current.update(repeating: .infinity, count: stride)
            }
        }
        if !(previous[n] <= limit) && limit < .infinity {
            return gridOptimum(grid, pieces: pieces)
        }
        var cuts = [Int](repeating: 0, count: pieces - 1)
        var j = n
        var k = pieces
        while k > 1 {
            let i = Int(parent[(k - 1) * stride + j])
            cuts[k - 2] = i
            j = i
            k -= 1
        }
        return (cuts, previous[n])
    }

    // MARK: Refinement

    /// Newton's method on the stationarity conditions
    /// g_k = dE/dt_k = w(t_k) [(f'(t_k) - l_k)^2 - (f'(t_k) - l_{k+1})^2] = 0,
    /// whose Jacobian is tridiagonal (t_k only moves pieces k and k + 1; the term with
    /// w'(t_k), which vanishes at a solution, is left out). The piece moments come from the
    /// grid's prefix sums plus one partial cell per border, so an iteration costs O(K).
    /// Steps are halved until the borders stay ordered and the error does not grow beyond
    /// rounding; finally the directly integrated error of the result is compared with the
    /// start's and the better one returned, so refinement never loses.
    func refine(_ start: [Double], grid: GridMoments, maxIterations: Int = 100) -> [Double] {
        let m = start.count
        guard m > 0 else { return start }
        let noise = 1e-14 * max(grid.p2[grid.p2.count - 1], Double.leastNormalMagnitude)
        var t = start
        var state = grid.pieces(t)
        var damping = 0.0
        for _ in 0..<maxIterations {
            let (a0, lv) = (state.a0, state.levels)
            var g = [Double](repeating: 0, count: m)
            var diag = g, upperDiag = g
            var phi = g, d = g
            for k in 0..<m {
                phi[k] = density(t[k])
                d[k] = derivative(t[k])
            }
            for k in 0..<m {
                let x = t[k]
                let h = 1e-5 * max(1, abs(x))
                let slope = (derivative(x + h) - derivative(x - h)) / (2 * h)
                let left = d[k] - lv[k]
                let right = d[k] - lv[k + 1]
                g[k] = phi[k] * (left * left - right * right)
                var hk = slope.isFinite ? slope * (lv[k + 1] - lv[k]) : 0
                if a0[k] > 0 { hk -= phi[k] * left * left / a0[k] }
                if a0[k + 1] > 0 { hk -= phi[k] * right * right / a0[k + 1] }
                diag[k] = 2 * phi[k] * hk
                if k + 1 < m, a0[k + 1] > 0 {
                    upperDiag[k] = 2 * phi[k] * phi[k + 1] * right * (d[k + 1] - lv[k + 1]) / a0[k + 1]
                }
            }
            if g.allSatisfy({ $0 == 0 }) { break }
            // A border where w vanishes does not move the error: hold it still.
            var rhs = g.map { -$0 }
            for k in 0..<m where !(diag[k].isFinite && diag[k] != 0) {
                diag[k] = 1
                rhs[k] = 0
                upperDiag[k] = 0
                if k > 0 { upperDiag[k - 1] = 0 }
            }
            // Levenberg-Marquardt: where the Newton step is no descent, leaves the order or
            // raises the error, add mu |diag| to the diagonal (towards scaled gradient descent).
            let largestDiag = diag.reduce(0) { max($0, abs($1)) }
            let scaling = diag.map { max(abs($0), 1e-12 * largestDiag) }
            var accepted = false
            var stepSize = 0.0
            for _ in 0..<40 {
                let damped = (0..<m).map { diag[$0] + damping * scaling[$0] }
                guard let delta = Self.solveTridiagonal(diag: damped, off: upperDiag, rhs: rhs),
                      delta.allSatisfy(\.isFinite),
                      zip(g, delta).reduce(0.0, { $0 + $1.0 * $1.1 }) < 0
                else {
                    damping = max(4 * damping, 1e-3)
                    continue
                }
                var candidate = t
                for k in 0..<m { candidate[k] += delta[k] }
                var ordered = candidate[0] > lower && candidate[m - 1] < upper
                for k in 1..<m where !(candidate[k] > candidate[k - 1]) { ordered = false }
                if ordered {
                    let next = grid.pieces(candidate)
                    if next.error <= state.error + noise {
                        stepSize = zip(candidate, t).reduce(0.0) { max($0, abs($1.0 - $1.1) / max(1, abs($1.1))) }
                        t = candidate
                        state = next
                        accepted = true
                        damping = damping < 1e-6 ? 0 : damping / 4
                        break
                    }
                }
                damping = max(4 * damping, 1e-3)
            }
            if !accepted || stepSize < 1e-12 { break }
        }
        return error(borders: t) <= error(borders: start) ? t : start
    }

    /// Moves borders within 1e-9 of a breakpoint (a kink of f' such as relu's 0, or a
    /// histogram edge) onto it, one at a time, where the order is kept and the error does
    /// not grow by more than 1e-12 relative (rounding), so that ties at the kink resolve to
    /// the kink itself (the 1-bit GELU border is exactly 0).
    func snapToBreakpoints(_ borders: inout [Double]) {
        guard !breakpoints.isEmpty else { return }
        var energy = error(borders: borders)
        for k in borders.indices {
            guard let point = breakpoints.min(by: { abs($0 - borders[k]) < abs($1 - borders[k]) }),
                  point != borders[k], abs(point - borders[k]) <= 1e-9 * max(1, abs(point)),
                  k == 0 || borders[k - 1] < point, k == borders.count - 1 || point < borders[k + 1]
            else { continue }
            var candidate = borders
            candidate[k] = point
            let candidateEnergy = error(borders: candidate)
            if candidateEnergy <= energy * (1 + 1e-12) {
                borders = candidate
                energy = candidateEnergy
            }
        }
    }

    /// Solves the symmetric tridiagonal system (diag, off) x = rhs by the Thomas algorithm;
    /// nil where a pivot vanishes.
    static func solveTridiagonal(diag: [Double], off: [Double], rhs: [Double]) -> [Double]? {
        let m = diag.count
        var c = [Double](repeating: 0, count: m)
        var r = [Double](repeating: 0, count: m)
        var pivot = diag[0]
        guard pivot != 0, pivot.isFinite else { return nil }
        c[0] = off[0] / pivot
        r[0] = rhs[0] / pivot
        for k in 1..<m {
            pivot = diag[k] - off[k - 1] * c[k - 1]
            guard pivot != 0, pivot.isFinite else { return nil }
            c[k] = off[k] / pivot
            r[k] = (rhs[k] - off[k - 1] * r[k - 1]) / pivot
        }
        var x = r
        for k in stride(from: m - 2, through: 0, by: -1) { x[k] = r[k] - c[k] * x[k + 1] }
        return x
    }
}

/// Prefix sums of A_0, A_1, A_2 over the cells of a grid, and the continuous moments at any
/// point: the prefix at the cell's left node plus the quadrature over the partial cell.
struct GridMoments: Sendable {
    let solver: FewBitSolver
    let nodes: [Double]
    let p0: [Double]
    let p1: [Double]
    let p2: [Double]

    init(solver: FewBitSolver, nodes: [Double]) {
        self.solver = solver
        self.nodes = nodes
        let n = nodes.count - 1
        var p0 = [Double](repeating: 0, count: n + 1)
        var p1 = p0, p2 = p0
        for i in 0..<n {
            let (m0, m1, m2) = solver.moments(nodes[i], nodes[i + 1])
            p0[i + 1] = p0[i] + m0
            p1[i + 1] = p1[i] + m1
            p2[i + 1] = p2[i] + m2
        }
        (self.p0, self.p1, self.p2) = (p0, p1, p2)
    }

    /// From prefix sums already computed.
    init(solver: FewBitSolver, nodes: [Double], p0: [Double], p1: [Double], p2: [Double]) {
        (self.solver, self.nodes, self.p0, self.p1, self.p2) = (solver, nodes, p0, p1, p2)
    }

    /// (A_0, A_1, A_2) on [nodes.first, x].
    func cumulative(_ x: Double) -> (Double, Double, Double) {
        let n = nodes.count - 1
        if x <= nodes[0] { return (0, 0, 0) }
        if x >= nodes[n] { return (p0[n], p1[n], p2[n]) }
        // Last node <= x.
        var lo = 0
        var hi = n
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if nodes[mid] <= x { lo = mid } else { hi = mid }
        }
        let (m0, m1, m2) = solver.moments(nodes[lo], x)
        return (p0[lo] + m0, p1[lo] + m1, p2[lo] + m2)
    }

    /// The pieces cut by ascending inner borders: weights, best levels, total error (from
    /// prefix sums, so exact only up to rounding of the order of 1e-16 * A_2 of the support).
    func pieces(_ borders: [Double]) -> (a0: [Double], levels: [Double], error: Double) {
        var c = [(0.0, 0.0, 0.0)]
        for b in borders { c.append(cumulative(b)) }
        let n = nodes.count - 1
        c.append((p0[n], p1[n], p2[n]))
        var a0 = [Double](repeating: 0, count: borders.count + 1)
        var levels = a0
        var total = 0.0
        for k in 0...borders.count {
            let w = c[k + 1].0 - c[k].0
            let a = c[k + 1].1 - c[k].1
            let q = c[k + 1].2 - c[k].2
            a0[k] = w
            if w > 0 {
                levels[k] = a / w
                total += max(0, q - a * a / w)
            } else {
                let e = solver.edges(borders)
                levels[k] = solver.derivative(0.5 * (e[k] + e[k + 1]))
            }
        }
        return (a0, levels, total)
    }
}
