import TensorCore

/// The sparse-vs-dense choice of ``sparseMatmul(_:_:threshold:)``: a roofline cost model
/// over the measured density, in units of "one weight row streamed by the dense kernel".
///
/// For x [B, K] times w [K, N], with `nnz[b]` the surviving inputs of row b and `U` the
/// channels surviving in any row (the union), the predicted costs are
///
/// - dense:    `K * max(B > 1 ? denseSmallBatchCost : 1, B / denseComputeBatch)`
/// - per row:  `rowCost * sum(nnz)` (each row streams its own weight rows, no sharing)
/// - union:    `rowCost * U * (1 + unionBatchCost * (B - 1))`
///
/// plus `compactionCost * B * K / N` rows for the compaction pass on both sparse paths.
/// The dense kernel is memory-bound (one row of traffic per weight row) until the batch
/// reaches its compute batch; the union kernel pays for every batch row it applies a
/// weight row to. The cheaper sparse path is taken only when its cost is at most `margin`
/// times the dense cost, so a wrong guess near the break-even point costs little;
/// otherwise the dense kernel runs on the thresholded input. At batch 1 this is: sparse
/// when the density is at most `margin / rowCost` (77% on the CPU).
///
/// ```swift
/// let model = SparseCostModel.cpu
/// let choice = model.choose(rows: 1, inner: 4096, columns: 11008,
///                           rowCounts: [410], unionCount: 410)
/// // choice == .perRow: 410 weight rows instead of 4096
/// ```
public struct SparseCostModel: Sendable, Equatable {
    /// Cost of one weight row in a sparse kernel relative to the dense kernel's (gathered rows
    /// defeat some prefetching; y is re-read once per eight rows).
    public var rowCost: Double
    /// Cost per weight row of the dense kernel at 2 or more rows, before it turns compute-bound.
    public var denseSmallBatchCost: Double
    /// Batch at which the dense kernel turns compute-bound.
    public var denseComputeBatch: Double
    /// Extra cost per weight row of the union kernel for each batch row beyond the first.
    public var unionBatchCost: Double
    /// Weight rows' worth of cost per input element for the compaction pass (scaled by K / N).
    public var compactionCost: Double
    /// Sparse must be predicted at most this fraction of dense to be chosen.
    public var margin: Double

    public init(rowCost: Double, denseSmallBatchCost: Double, denseComputeBatch: Double,
                unionBatchCost: Double, compactionCost: Double, margin: Double) {
        self.rowCost = rowCost
        self.denseSmallBatchCost = denseSmallBatchCost
        self.denseComputeBatch = denseComputeBatch
        self.unionBatchCost = unionBatchCost
        self.compactionCost = compactionCost
        self.margin = margin
    }

    /// Constants measured on the CPU backend (OpenBLAS sgemv/sgemm against the Swift gather
    /// kernels, cold 4096 x 11008 and 11008 x 4096 weights, two cores; `tensorbench sparse`):
    /// sgemm at batch 4 takes 4-9x sgemv's time (3 here), ~2.7x at 16 and ~10x at 64
    /// (compute batch 6); the gather kernel streams a row at 0.9-1.1x sgemv's cost per row;
    /// the union kernel costs ~3.5x per row at batch 4, ~8.5x at 16, ~19x at 64 (0.9 per
    /// extra row overestimates the larger batches: it errs towards dense).
    public static let cpu = SparseCostModel(rowCost: 1.1, denseSmallBatchCost: 3, denseComputeBatch: 6,
                                            unionBatchCost: 0.9, compactionCost: 2, margin: 0.85)

    /// Predicted cost of each path, in dense weight-row units.
    public func costs(rows: Int, inner: Int, columns: Int, rowCounts: [Int],
                      unionCount: Int) -> (dense: Double, perRow: Double, union: Double) {
        let b = Double(rows), k = Double(inner), n = Double(max(columns, 1))
        let dense = k * max(rows > 1 ? denseSmallBatchCost : 1, b / denseComputeBatch)
        let compaction = compactionCost * b * k / n
        let perRow = rowCost * Double(rowCounts.reduce(0, +)) + compaction
        let union = rowCost * Double(unionCount) * (1 + unionBatchCost * max(0, b - 1)) + compaction
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
