import Foundation

/// A piecewise-constant approximation q of an activation's derivative f', for few-bit backward.
///
/// Forward keeps, per element, the b-bit `code(for: x)`: the index of the piece of q that x
/// falls in. Backward computes `gradIn = gradOut * levels[code]`. The table has 2^b - 1
/// ascending inner `borders` and 2^b `levels`; piece c is (borders[c-1], borders[c]], with
/// the outer ends -infinity and +infinity. A value equal to a border goes to the lower
/// piece: the code is the number of borders strictly less than x.
///
/// `optimal(for:bits:weight:)` gives the table that minimises the weighted L2 error
///
///     l2Error = integral over the support of w of (f'(x) - q(x))^2 w(x) dx,
///
/// where w is a probability density (``FewBitWeight``; the default is uniform on
/// [-100, 100], so the error is the mean of (f' - q)^2 over that interval, as for the
/// published reference tables of the fewbit project). `l2Error` is always the error of the
/// stored float32 borders and levels, integrated by Gauss-Legendre quadrature in double
/// precision (relative accuracy about 1e-13), so tables built from any source compare
/// directly.
///
/// ```swift
/// let table = try FewBitTable.optimal(for: .gelu, bits: 2)
/// table.borders                // [-0.4536, 0.0, 0.4536] (rounded)
/// table.levels                 // [-0.0015, 0.3251, 0.6749, 1.0015] (rounded)
/// table.l2Error                // 2.2377e-4
/// let c = table.code(for: 0.3) // 2
/// let g = 0.5 * table.levels[c]  // few-bit backward of an upstream gradient 0.5
/// ```
public struct FewBitTable: Sendable, Hashable {
    /// Bits per code, 1...8.
    public let bits: Int
    /// The 2^bits - 1 inner borders, ascending.
    public let borders: [Float]
    /// The 2^bits levels: the value of q on each piece.
    public let levels: [Float]
    /// The weighted L2 error of this table (see the type's documentation).
    public let l2Error: Double
    /// A certified lower bound on the smallest weighted L2 error that any table with this
    /// many bits can reach for this derivative and weight.
    ///
    /// For a table from ``optimal(for:bits:weight:)`` or ``optimal(derivative:bits:weight:)``
    /// (up to 5 bits) or ``certified(for:bits:weight:)`` (any bits) it comes from the branch
    /// and bound that computed the table, so the table's error is within ``optimalityGap`` of
    /// the global optimum; above 5 bits from `optimal` and for a table built from its parts
    /// it is 0 (nothing is known).
    ///
    /// ```swift
    /// let table = try FewBitTable.optimal(for: .gelu, bits: 4)
    /// table.lowerBound <= table.l2Error                      // true
    /// table.l2Error - table.lowerBound <= 1e-6 * table.l2Error  // true: certified optimal
    /// try FewBitTable.optimal(for: .gelu, bits: 8).lowerBound  // 0: not certified above 5 bits
    /// try FewBitTable.certified(for: .gelu, bits: 8).optimalityGap  // 6.8e-7 (minutes)
    /// ```
    public let lowerBound: Double

    /// The relative distance (l2Error - lowerBound) / l2Error to the certified lower bound:
    /// no table with this many bits has an error below (1 - optimalityGap) * l2Error.
    /// 0 when the error is 0; 1 for a table built from its parts.
    ///
    /// ```swift
    /// let table = try FewBitTable.optimal(for: .silu, bits: 3)
    /// table.optimalityGap   // below 1e-6 (1 above 5 bits, unless from `certified`)
    /// ```
    public var optimalityGap: Double {
        l2Error > 0 ? max(0, (l2Error - lowerBound) / l2Error) : 0
    }

    /// A table from its parts, with its error computed against `derivative` under `weight`.
    ///
    /// Use it to evaluate a table from elsewhere (a published one) on the same footing as
    /// the optimal ones:
    ///
    /// ```swift
    /// let theirs = try FewBitTable(borders: [0], levels: [0, 1],
    ///                              derivative: { Activation.gelu.derivative($0) })
    /// let ours = try FewBitTable.optimal(for: .gelu, bits: 1)
    /// ours.l2Error <= theirs.l2Error   // true
    /// ```
    ///
    /// - Throws: `TensorError.invalidArgument` unless there are 2^b levels (b in 1...8),
    ///   2^b - 1 finite ascending borders and finite levels, or if the weight is invalid.
    public init(
        borders: [Float], levels: [Float],
        derivative: @escaping @Sendable (Double) -> Double,
        weight: FewBitWeight = .uniform(-100, 100)
    ) throws(TensorError) {
        let op = "FewBitTable"
        let bits = levels.count.trailingZeroBitCount
        guard (1...8).contains(bits), levels.count == 1 << bits else {
            throw .invalidArgument(op: op, reason: "need 2^b levels with b in 1...8, got \(levels.count)")
        }
        guard borders.count == levels.count - 1 else {
            throw .invalidArgument(op: op, reason: "need \(levels.count - 1) borders for \(levels.count) levels, got \(borders.count)")
        }
        guard borders.allSatisfy(\.isFinite), levels.allSatisfy(\.isFinite),
              zip(borders, borders.dropFirst()).allSatisfy({ $0 < $1 })
        else {
            throw .invalidArgument(op: op, reason: "borders must be finite and strictly ascending, levels finite")
        }
        try weight.validate(op: op)
        let solver = FewBitSolver(derivative: derivative, weight: weight)
        self.bits = bits
        self.borders = borders
        self.levels = levels
        self.l2Error = solver.error(borders: borders.map(Double.init), levels: levels.map(Double.init))
        self.lowerBound = 0
    }

    /// A table from its parts, with its error computed against `activation.derivative`.
    ///
    /// ```swift
    /// let step = try FewBitTable(borders: [0], levels: [0, 1], activation: .gelu)
    /// step.l2Error   // 7.05e-4, the error of the 1-bit step
    /// ```
    ///
    /// - Throws: as ``init(borders:levels:derivative:weight:)``.
    public init(
        borders: [Float], levels: [Float], activation: Activation,
        weight: FewBitWeight = .uniform(-100, 100)
    ) throws(TensorError) {
        try self.init(borders: borders, levels: levels, derivative: { activation.derivative($0) }, weight: weight)
    }

    /// A table from its parts, a known error and a lower bound on the optimum; no checks
    /// beyond the counts.
    init(bits: Int, borders: [Float], levels: [Float], l2Error: Double, lowerBound: Double = 0) {
        precondition(levels.count == 1 << bits && borders.count == levels.count - 1)
        self.bits = bits
        self.borders = borders
        self.levels = levels
        self.l2Error = l2Error
        self.lowerBound = min(lowerBound, l2Error)
    }

    /// The code of x: the number of borders strictly less than x (so a value equal to a
    /// border goes to the lower piece; NaN gets 0).
    ///
    /// ```swift
    /// let relu1 = try FewBitTable.optimal(for: .relu, bits: 1)  // borders [0], levels [0, 1]
    /// relu1.code(for: 0)      // 0
    /// relu1.code(for: 1e-30)  // 1
    /// ```
    @inlinable
    public func code(for x: Float) -> Int {
        var lo = 0
        var hi = borders.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if borders[mid] < x { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// The level q(x) = levels[code(for: x)].
    ///
    /// ```swift
    /// let table = try FewBitTable.optimal(for: .relu, bits: 1)
    /// table.level(for: 2)   // 1.0
    /// ```
    @inlinable
    public func level(for x: Float) -> Float { levels[code(for: x)] }

    /// The codes of many values, one byte each, ready for ``FewBitCodes/pack(_:bits:)``.
    ///
    /// ```swift
    /// let table = try FewBitTable.optimal(for: .gelu, bits: 3)
    /// let words = FewBitCodes.pack(table.codes(for: [-1, 0, 2]), bits: 3)
    /// ```
    public func codes(for values: [Float]) -> [UInt8] {
        values.map { UInt8(truncatingIfNeeded: code(for: $0)) }
    }

    // MARK: Optimal tables

    /// The table with the smallest weighted L2 error for `activation` at `bits` bits.
    ///
    /// The result is computed once per (activation, bits, weight) and cached (thread-safe).
    /// Method: exact dynamic programming over a fine non-uniform grid of candidate
    /// borders (the global optimum among grid tables), then Newton refinement of the
    /// borders off the grid (levels are always the weighted means of f' on their pieces);
    /// the refined borders are added to the grid and the search repeated until the grid
    /// optimum is the refined table itself. Where f' is piecewise constant the result is
    /// exact: relu and leaky ReLU at 1 bit give the border 0 and zero error.
    ///
    /// Then a branch and bound (``lowerBound``) proves the result optimal or replaces it:
    /// it bounds from below the error of every table, whatever its borders, by the grid
    /// optimum minus a second-order bound on what moving each border within its cell can
    /// gain, discards the cells no border of a better table can lie in, splits the others,
    /// and stops once the bound is within 1e-6 of the table's error (``optimalityGap``).
    /// Above 4 bits a first-order bound over cell assignments first confines each border
    /// to a short range. The bounds assume only that f' is resolved by sampling at the
    /// quadrature nodes.
    ///
    /// This function certifies up to 5 bits (every contract activation: gaps below 1e-6,
    /// at most about 0.5 s a table in a release build). At 6 to 8 bits the certificate
    /// costs 1 s, 15 s and about 4 minutes a table, so it is left to
    /// ``certified(for:bits:weight:)``, and here `lowerBound` is 0: the table is the best over
    /// a grid of 8 (6 bits) to 32 (8 bits) candidate borders per piece that contains its own
    /// borders. For every contract activation it is within 1e-6 of the lower bound that
    /// ``certified(for:bits:weight:)`` proves, so optimal too (`tensorbench fewbit
    /// certify=6,7,8`, columns optimal() error and its gap); for other derivatives check
    /// with ``certified(derivative:bits:weight:)``.
    ///
    /// ```swift
    /// let t = try FewBitTable.optimal(for: .silu, bits: 4)
    /// let g = try FewBitTable.optimal(for: .gelu, bits: 3, weight: .gaussian(mean: 0, std: 1))
    /// ```
    ///
    /// - Throws: `TensorError.invalidArgument` for bits outside 1...8 or an invalid weight.
    public static func optimal(
        for activation: Activation, bits: Int, weight: FewBitWeight = .uniform(-100, 100)
    ) throws(TensorError) -> FewBitTable {
        try validate(bits: bits, weight: weight)
        let key = CacheKey(activation: activation, bits: bits, weight: weight, certified: bits <= maxCertifiedBits)
        if let table = cachedTable(key) { return table }
        // Computed outside the lock, so a lookup never waits for another table's computation;
        // two threads racing on one key compute the same (deterministic) table and keep the first.
        let table = compute(derivative: { activation.derivative($0) }, bits: bits, weight: weight)
        return cache.withLock { tables in
            if let first = tables[key] { return first }
            tables[key] = table
            return table
        }
    }

    /// The optimal table for `activation` at `bits` bits with its certificate at any bits:
    /// the branch and bound of ``optimal(for:bits:weight:)`` runs however long it needs
    /// (budgets bound its memory, not its time), so ``lowerBound`` is set at 6 to 8 bits too.
    ///
    /// Up to 5 bits it is the table ``optimal(for:bits:weight:)`` returns. Above, expect
    /// about 1 s at 6 bits, 15 s at 7 and 4 minutes at 8 (release build, one core); the
    /// result is cached like the optimal tables. The search stops at its state budget with
    /// the bound it reached: check ``optimalityGap``.
    ///
    /// ```swift
    /// let table = try FewBitTable.certified(for: .gelu, bits: 6)
    /// table.optimalityGap   // 6.2e-7: no 6-bit table is better by more than that
    /// ```
    ///
    /// - Throws: `TensorError.invalidArgument` for bits outside 1...8 or an invalid weight.
    public static func certified(
        for activation: Activation, bits: Int, weight: FewBitWeight = .uniform(-100, 100)
    ) throws(TensorError) -> FewBitTable {
        if bits <= maxCertifiedBits { return try optimal(for: activation, bits: bits, weight: weight) }
        try validate(bits: bits, weight: weight)
        let key = CacheKey(activation: activation, bits: bits, weight: weight, certified: true)
        if let table = cachedTable(key) { return table }
        let table = compute(derivative: { activation.derivative($0) }, bits: bits, weight: weight, certify: true)
        return cache.withLock { tables in
            if let first = tables[key] { return first }
            tables[key] = table
            return table
        }
    }

    /// ``certified(for:bits:weight:)`` for a user-supplied derivative f' (not cached).
    ///
    /// ```swift
    /// let softsign = try FewBitTable.certified(derivative: { 1 / ((1 + abs($0)) * (1 + abs($0))) }, bits: 6)
    /// ```
    ///
    /// - Throws: `TensorError.invalidArgument` for bits outside 1...8 or an invalid weight.
    public static func certified(
        derivative: @escaping @Sendable (Double) -> Double, bits: Int,
        weight: FewBitWeight = .uniform(-100, 100)
    ) throws(TensorError) -> FewBitTable {
        try validate(bits: bits, weight: weight)
        return compute(derivative: derivative, bits: bits, weight: weight, certify: true)
    }

    /// The cached table for `key`, if it has been computed.
    static func cachedTable(_ key: CacheKey) -> FewBitTable? {
        cache.withLock { $0[key] }
    }

    /// The optimal table for a user-supplied derivative f' (not cached: keep the result).
    ///
    /// ```swift
    /// // A hard sigmoid's derivative: 1/6 on (-3, 3], 0 elsewhere.
    /// let table = try FewBitTable.optimal(derivative: { abs($0) < 3 ? 1.0 / 6 : 0 }, bits: 2)
    /// ```
    ///
    /// - Throws: `TensorError.invalidArgument` for bits outside 1...8 or an invalid weight.
    public static func optimal(
        derivative: @escaping @Sendable (Double) -> Double, bits: Int,
        weight: FewBitWeight = .uniform(-100, 100)
    ) throws(TensorError) -> FewBitTable {
        try validate(bits: bits, weight: weight)
        return compute(derivative: derivative, bits: bits, weight: weight)
    }

    private static func validate(bits: Int, weight: FewBitWeight) throws(TensorError) {
        guard (1...8).contains(bits) else {
            throw .invalidArgument(op: "FewBitTable.optimal", reason: "bits must be in 1...8, got \(bits)")
        }
        try weight.validate(op: "FewBitTable.optimal")
    }

    /// Grid cells for the fine dynamic programme: 1024 up to 4 bits (the result is
    /// bit-identical with 512 or 2048 cells there), 2048 at 5 and 6 bits (at 5 bits 1024
    /// cells can miss the best basin for mish), 8192 at 7 and 8 bits. The refinement makes
    /// the result accurate beyond the grid, but only within the grid optimum's basin: at 7
    /// bits 2048 and 4096 cells land GELU and SiLU in a basin 1.3e-4 and 6e-4 above the
    /// certified optimum (GELU' peaks near 1.4 and the pieces on either side of the peak
    /// can be arranged two ways), and at 8 bits 4096 cells miss SiLU and mish; 8192 cells
    /// reach the certified table for every contract activation (`tensorbench fewbit
    /// certify=7,8`, column optimal()), at about 1 s a table in a release build.
    static func gridCells(bits: Int) -> Int { bits <= 4 ? 1024 : bits <= 6 ? 2048 : 8192 }

    /// Grid cells the branch and bound starts from: 16 per piece and at least 2048. A finer
    /// start grid only multiplies its states (7 bits: 40-120 s a table from 8192 cells
    /// against 8-18 s from 2048); the incumbent's borders are merged in either way.
    static func certificateGridCells(bits: Int) -> Int { max(2048, 16 << bits) }

    /// The relative gap (l2Error - lowerBound) / l2Error the branch and bound aims for.
    static let certificateTolerance = 1e-6

    /// Bits up to which ``optimal(for:bits:weight:)`` runs the branch and bound (release build,
    /// every contract activation: at most about 0.5 s a table at 5 bits, against 1 s, 15 s and
    /// 4 minutes at 6, 7 and 8 bits).
    static let maxCertifiedBits = 5

    static func compute(
        derivative: @escaping @Sendable (Double) -> Double, bits: Int, weight: FewBitWeight,
        cells: Int? = nil, certify: Bool = false
    ) -> FewBitTable {
        let solver = FewBitSolver(derivative: derivative, weight: weight)
        let pieces = 1 << bits
        // A coarse pass gives an upper bound for the fine one.
        let coarseNodes = solver.grid(cells: 512)
        let coarseGrid = GridMoments(solver: solver, nodes: coarseNodes)
        let coarseCuts = solver.gridOptimum(coarseGrid, pieces: pieces).cuts
        var refined = solver.refine(coarseCuts.map { coarseNodes[$0] }, grid: coarseGrid)
        var refinedError = solver.error(borders: refined)
        var nodes = solver.merge(solver.grid(cells: cells ?? gridCells(bits: bits)), with: refined)
        // Then, repeatedly: solve on the fine grid, which contains the incumbent's borders, so
        // the incumbent bounds the search; if the grid optimum beats the incumbent (another
        // basin), refine it and put its borders into the grid. Stops when the grid optimum
        // is the incumbent itself, so the result is the exact optimum over a grid that
        // contains its own borders.
        for _ in 0..<4 {
            let grid = GridMoments(solver: solver, nodes: nodes)
            let incumbentCost = grid.pieces(refined).error
            let (candidateCuts, candidateCost) = solver.gridOptimum(grid, pieces: pieces, bound: incumbentCost)
            guard candidateCost < incumbentCost - 1e-9 * incumbentCost else { break }
            let candidate = solver.refine(candidateCuts.map { nodes[$0] }, grid: grid)
            let candidateError = solver.error(borders: candidate)
            guard candidateError < refinedError else { break }
            (refined, refinedError) = (candidate, candidateError)
            nodes = solver.merge(nodes, with: refined)
        }
        // Then the branch and bound certifies it (and replaces it by any better table it
        // meets), up to `maxCertifiedBits` or when asked to.
        var lowerBound = 0.0
        if certify || bits <= maxCertifiedBits {
            let searchCells = cells ?? gridCells(bits: bits)
            let startNodes = searchCells <= certificateGridCells(bits: bits) ? nodes
                : solver.merge(solver.grid(cells: certificateGridCells(bits: bits)), with: refined)
            let certified = certificate(solver: solver, pieces: pieces, incumbent: refined, error: refinedError,
                                        nodes: startNodes)
            (refined, lowerBound) = (certified.borders, certified.lowerBound)
        }
        solver.snapToBreakpoints(&refined)
        // Store float32 borders; the levels are the weighted means for exactly those borders.
        var borders = refined.map { Float($0) }
        for k in 1..<borders.count where !(borders[k] > borders[k - 1]) {
            borders[k] = borders[k - 1].nextUp
        }
        let e = solver.edges(borders.map(Double.init))
        let levels = (0..<pieces).map { k in Float(solver.level(e[k], e[k + 1])) }
        let error = solver.error(borders: borders.map(Double.init), levels: levels.map(Double.init))
        return FewBitTable(bits: bits, borders: borders, levels: levels, l2Error: error, lowerBound: lowerBound)
    }

    /// The branch and bound from the incumbent; above 4 bits the cell bound first confines
    /// each border to a short range, so that the second-order search fits its budget.
    static func certificate(
        solver: FewBitSolver, pieces: Int, incumbent: [Double], error: Double, nodes: [Double]
    ) -> (borders: [Double], lowerBound: Double) {
        var ranges: (lo: [Double], hi: [Double])?
        var known = 0.0
        if pieces > 16 {
            let cellBound = FewBitCellBound(solver: solver, pieces: pieces, maxRounds: 40,
                                            maxStates: 4_000_000, targetStates: 20_000)
            let confined = cellBound.run(upper: error, incumbent: incumbent, nodes: nodes)
            ranges = (confined.rangeLo, confined.rangeHi)
            known = confined.lowerBound
        }
        let search = FewBitBranchAndBound(solver: solver, pieces: pieces, tolerance: certificateTolerance,
                                          maxRounds: 40, maxStates: 1_000_000)
        let certified = search.run(incumbent: incumbent, nodes: nodes, ranges: ranges, known: known)
        return (certified.borders, certified.lowerBound)
    }

    struct CacheKey: Hashable, Sendable {
        let activation: Activation
        let bits: Int
        let weight: FewBitWeight
        /// Whether the table carries its certificate (always up to ``maxCertifiedBits``).
        let certified: Bool
    }

    private static let cache = LockedValue<[CacheKey: FewBitTable]>([:])
}
