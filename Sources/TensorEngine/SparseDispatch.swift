import TensorCore

/// The sparse-vs-dense choice of ``sparseMatmul(_:_:threshold:)``: a roofline cost model
/// over the measured density, in units of "one weight row streamed by the dense kernel".
///
/// For x [B, K] times w [K, N], with `nnz[b]` the surviving inputs of row b and `U` the
/// channels surviving in any row (the union), the predicted costs are
///
/// - dense:    `K * max(1, B / denseComputeBatch)`
/// - per row:  `rowCost * sum(nnz)` (each row streams its own weight rows, no sharing)
/// - union:    `rowCost * U * max(1, B / sparseComputeBatch)`
///
/// plus `compactionCost * B * K / N` rows for the compaction pass on both sparse paths.
/// Memory-bound below the compute batch (every weight row costs one row of traffic),
/// compute-bound above it. The cheaper sparse path is taken only when its cost is at most
/// `margin` times the dense cost, so a wrong guess near the break-even point costs little;
/// otherwise the dense kernel runs on the thresholded input.
///
/// ```swift
/// let model = SparseCostModel.cpu
/// let choice = model.choose(rows: 1, inner: 4096, columns: 11008,
///                           rowCounts: [410], unionCount: 410)
/// // choice == .perRow: 410 weight rows instead of 4096
/// ```
public struct SparseCostModel: Sendable, Equatable {
    /// Cost of one weight row in a sparse kernel relative to the dense kernel's (gathered rows
    /// defeat some prefetching; y is re-read once per four rows).
    public var rowCost: Double
    /// Batch at which the dense kernel turns compute-bound.
    public var denseComputeBatch: Double
    /// Batch at which the union kernel turns compute-bound.
    public var sparseComputeBatch: Double
    /// Weight rows' worth of cost per input element for the compaction pass (scaled by K / N).
    public var compactionCost: Double
    /// Sparse must be predicted at most this fraction of dense to be chosen.
    public var margin: Double

    public init(rowCost: Double, denseComputeBatch: Double, sparseComputeBatch: Double,
                compactionCost: Double, margin: Double) {
        self.rowCost = rowCost
        self.denseComputeBatch = denseComputeBatch
        self.sparseComputeBatch = sparseComputeBatch
        self.compactionCost = compactionCost
        self.margin = margin
    }

    /// Constants measured on the CPU backend (OpenBLAS sgemm/sgemv vs the Swift gather kernels,
    /// 4096 x 11008 float32, two cores): see `tensorbench sparse`.
    ///
    /// Measured (cold 4096 x 11008 weights): sgemv streams the weights at batch 1; sgemm costs
    /// ~2.7x that at batch 16 and ~10x at 64 (compute batch ~6); the gather kernel streams a
    /// row at ~1.0-1.1x sgemv's cost per row at batch 1, and the union kernel costs ~2.6x per
    /// row at batch 4 and ~4.7x at 16 (compute batch 1.5, conservatively). OpenBLAS's sgemm is
    /// unusually slow at batch 2-8 (~6x sgemv), which the model ignores: there it errs towards
    /// dense, never the other way.
    public static let cpu = SparseCostModel(rowCost: 1.1, denseComputeBatch: 6, sparseComputeBatch: 1.5,
                                            compactionCost: 2, margin: 0.85)

    /// Predicted cost of each path, in dense weight-row units.
    public func costs(rows: Int, inner: Int, columns: Int, rowCounts: [Int],
                      unionCount: Int) -> (dense: Double, perRow: Double, union: Double) {
        let b = Double(rows), k = Double(inner), n = Double(max(columns, 1))
        let dense = k * max(1, b / denseComputeBatch)
        let compaction = compactionCost * b * k / n
        let perRow = rowCost * Double(rowCounts.reduce(0, +)) + compaction
        let union = rowCost * Double(unionCount) * max(1, b / sparseComputeBatch) + compaction
        return (dense, perRow, union)
    }

    /// The path to run: the cheaper sparse one when it beats `margin` x dense, else `.dense`.
    public func choose(rows: Int, inner: Int, columns: Int, rowCounts: [Int], unionCount: Int) -> SparseMode {
        guard rows > 0, inner > 0, columns > 0 else { return .dense }
        let c = costs(rows: rows, inner: inner, columns: columns, rowCounts: rowCounts, unionCount: unionCount)
        let (mode, cost) = c.perRow <= c.union ? (SparseMode.perRow, c.perRow) : (.unionOverBatch, c.union)
        return cost <= margin * c.dense ? mode : .dense
    }
}

/// What the dispatcher measured and chose for one product.
///
/// ```swift
/// let d = try sparseDecision(x, w, threshold: 0)
/// print(d.mode, d.unionDensity)
/// ```
public struct SparseDecision: Sendable, Equatable {
    /// Surviving inputs per row of x.
    public var rowCounts: [Int]
    /// Channels surviving in at least one row.
    public var unionCount: Int
    /// K, the number of input channels.
    public var inner: Int
    /// The path chosen.
    public var mode: SparseMode

    /// Fraction of weight rows the union path reads.
    public var unionDensity: Double { inner == 0 ? 0 : Double(unionCount) / Double(inner) }
    /// Mean fraction of inputs surviving per row.
    public var rowDensity: Double {
        inner == 0 || rowCounts.isEmpty ? 0 : Double(rowCounts.reduce(0, +)) / Double(inner * rowCounts.count)
    }
}
