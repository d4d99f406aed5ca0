import TensorCore

/// The sparse-vs-dense choice of ``sparseMatmul(_:_:threshold:)``: a roofline cost model
/// over the measured density, in units of "one weight row streamed by the dense kernel".
///
/// For x [B, K] times w [K, N], with `nnz[b]` the surviving inputs of row b and `U` the
/// channels surviving in any row (the union), the predicted costs are
///
/// - dense:    `K * max(B > 1 ? denseSmallBatchCost : 1, B / denseComputeBatch)`
/// - per row:  `rowCost * sum(nnz)` (each row streams its own weight rows, no sharing)
/// - union:    `U * (rowCost + unionBatchCost * (B - 1))`
///
/// plus `compactionCost * B * K / N` rows for the compaction pass on both sparse paths.
/// The dense kernel is memory-bound (one row of traffic per weight row) until the batch
/// reaches its compute batch; the union kernel streams each listed weight row once and
/// then pays for the arithmetic of every further batch row it applies it to. The cheaper sparse path is taken only when its cost is at most `margin`
/// times the dense cost, so a wrong guess near the break-even point costs little;
/// otherwise the dense kernel runs on the thresholded input. At batch 1 this is: sparse
/// when the density is at most `margin / rowCost` (85% on the CPU).
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
    /// Extra cost per listed weight row of the union kernel for each batch row beyond the first.
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

    /// Constants measured on the CPU backend with its AVX2 + FMA kernels (OpenBLAS sgemv/sgemm
    /// against the gather kernels, cold 4096 x 11008 weights, two cores; `tensorbench sparse`).
    /// In sgemv-row units: sgemm costs ~3.7-4.1 per weight row at batch 4, ~2.8-3.8 at 16 and
    /// ~7.8-10 at 64 (compute-bound from ~8 rows); the per-row gather (AVX2 + FMA, eight rows
    /// per pass over y) streams a row at 0.75-1.0 (at batch 1 it beats sgemv even on dense
    /// inputs, 1.06-1.14x); the union kernel (a GEMM over the listed rows) ~1.8 per listed row
    /// at batch 4, ~3.2 at 16, ~9.5 at 64, i.e. about 1 to stream it plus ~0.14 per further
    /// batch row.
    public static let cpu = SparseCostModel(rowCost: 1.0, denseSmallBatchCost: 3, denseComputeBatch: 8,
                                            unionBatchCost: 0.14, compactionCost: 2, margin: 0.85)

    /// The CPU backend without AVX2 + FMA (other architectures, old x86-64): the union path is
    /// a row-streaming loop that re-reads each weight row for every batch row (~1 per extra
    /// row), and the dense kernel's constants are kept from ``cpu``.
    public static let cpuPortable = SparseCostModel(rowCost: 1.1, denseSmallBatchCost: 3, denseComputeBatch: 8,
                                                    unionBatchCost: 1, compactionCost: 2, margin: 0.85)

    /// Predicted cost of each path, in dense weight-row units.
    public func costs(rows: Int, inner: Int, columns: Int, rowCounts: [Int],
                      unionCount: Int) -> (dense: Double, perRow: Double, union: Double) {
        let b = Double(rows), k = Double(inner), n = Double(max(columns, 1))
        let dense = k * max(rows > 1 ? denseSmallBatchCost : 1, b / denseComputeBatch)
        let compaction = compactionCost * b * k / n
        let perRow = rowCost * Double(rowCounts.reduce(0, +)) + compaction
        let union = Double(unionCount) * (rowCost + unionBatchCost * max(0, b - 1)) + compaction
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
