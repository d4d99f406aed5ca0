import CPUBackend
import TensorCore

/// Activation-sparse matrix product `x~ * w`, where x~ is `x` with every `|x| <= threshold`
/// set to 0: only the weight rows of surviving inputs are read.
///
/// `x` is [K] or [..., K], `w` [K, N] (row-major; a transposed view is copied); the result is
/// [..., N]. The dispatcher counts the surviving inputs per row and over the batch
/// (``sparseDecision(_:_:threshold:model:)``) and runs the cheapest path of
/// ``SparseCostModel``: per-row gather, union-over-batch gather, or the dense kernel on the
/// thresholded input. Every path computes the same x~ * w up to float32 summation order.
/// A threshold of 0 skips exact zeros only (the product is unchanged; ReLU outputs).
///
/// ```swift
/// let h = try relu(matmul(x, w1))                  // [1, 4096], ~90% zeros
/// let y = try sparseMatmul(h, w2, threshold: 0)   // reads ~10% of w2
/// ```
public func sparseMatmul(_ x: Tensor, _ w: Tensor, threshold: Float = 0) throws(TensorError) -> Tensor {
    try SparseProduct(x, w, threshold: .scalar(threshold), thresholdTensor: nil).run(mode: nil, model: nil)
}

/// ``sparseMatmul(_:_:threshold:)`` with one threshold per input channel: `threshold` is [K],
/// and input `x[..., k]` is skipped when `|x[..., k]| <= threshold[k]`.
///
/// ```swift
/// let t = try Tensor.full([4096], value: 0.01, on: .cpu)
/// let y = try sparseMatmul(h, w2, threshold: t)
/// ```
public func sparseMatmul(_ x: Tensor, _ w: Tensor, threshold: Tensor) throws(TensorError) -> Tensor {
    try SparseProduct(x, w, threshold: nil, thresholdTensor: threshold).run(mode: nil, model: nil)
}

/// ``sparseMatmul(_:_:threshold:)`` on a path chosen by the caller (benchmarks, tests), or by
/// `model` instead of the device's default cost model when `mode` is nil.
///
/// ```swift
/// let dense = try sparseMatmul(h, w2, threshold: 0, mode: .dense)
/// let gathered = try sparseMatmul(h, w2, threshold: 0, mode: .perRow)
/// ```
public func sparseMatmul(_ x: Tensor, _ w: Tensor, threshold: Float, mode: SparseMode?,
                         model: SparseCostModel? = nil) throws(TensorError) -> Tensor {
    try SparseProduct(x, w, threshold: .scalar(threshold), thresholdTensor: nil).run(mode: mode, model: model)
}

/// The density measurement and the choice ``sparseMatmul(_:_:threshold:)`` would make.
///
/// ```swift
/// let d = try sparseDecision(h, w2, threshold: 0)
/// print(d.mode, d.rowDensity, d.unionDensity)
/// ```
public func sparseDecision(_ x: Tensor, _ w: Tensor, threshold: Float,
                           model: SparseCostModel? = nil) throws(TensorError) -> SparseDecision {
    try SparseProduct(x, w, threshold: .scalar(threshold), thresholdTensor: nil).decide(model: model)
}

extension SparseCostModel {
    /// The cost model for a device kind.
    ///
    /// ```swift
    /// let model = SparseCostModel.default(for: .cpu)
    /// ```
    public static func `default`(for kind: DeviceKind) -> SparseCostModel {
        if kind == .cpu { return CPUDevice.hasVectorKernels ? .cpu : .cpuPortable }
        return DeviceRegistry.provider(kind: kind)?.sparseCostModel ?? .untunedGPU
    }

    /// The Vulkan backend's model until one is measured on a GPU: a GPU's dense kernel stays
    /// memory-bound to larger batches, and the gather kernel's per-row overhead (compaction in
    /// every workgroup) is assumed higher. Also the default for a registered backend.
    public static let untunedGPU = SparseCostModel(rowCost: 1.5, denseSmallBatchCost: 1, denseComputeBatch: 32,
                                                   unionBatchCost: 0.15, compactionCost: 2, margin: 0.8)
}

/// One validated input-sparse product: x flattened to [B, K], w contiguous [K, N].
struct SparseProduct {
    let x: Tensor
    let w: Tensor
    let threshold: SparseThreshold
    let thresholdStorage: Tensor?
    let outputShape: [Int]
    let rows: Int, inner: Int, columns: Int

    init(_ x: Tensor, _ w: Tensor, threshold scalar: SparseThreshold?, thresholdTensor: Tensor?) throws(TensorError) {
        let op = "sparseMatmul"
        try OpSupport.sameDevice(op, x, w)
        try OpSupport.floats(op, x, w)
        guard w.rank == 2 else { throw .invalidShape(op: op, shape: w.shape, reason: "weight must be [K, N]") }
        guard x.rank >= 1, x.shape[x.rank - 1] == w.shape[0] else {
            throw .shapeMismatch(op: op, lhs: x.shape, rhs: w.shape, reason: "input features differ from weight rows")
        }
        inner = w.shape[0]
        columns = w.shape[1]
        rows = x.rank == 1 ? 1 : x.shape.dropLast().reduce(1, *)
        self.x = try x.contiguous().reshaped([rows, inner])
        self.w = try w.contiguous()
        outputShape = Array(x.shape.dropLast()) + [columns]
        if let thresholdTensor {
            try OpSupport.sameDevice(op, x, thresholdTensor)
            try OpSupport.floats(op, thresholdTensor)
            guard thresholdTensor.shape == [inner] else {
                throw .shapeMismatch(op: op, lhs: thresholdTensor.shape, rhs: w.shape,
                                     reason: "a per-channel threshold must be [K] for weight [K, N]")
            }
            let stored = try thresholdTensor.contiguous()
            thresholdStorage = stored
            threshold = .perChannel(stored.storage)
        } else {
            let value: Float
            if case let .scalar(t)? = scalar { value = t } else { value = 0 }
            guard !value.isNaN, value >= 0 else {
                throw .invalidArgument(op: op, reason: "threshold \(value) must be a non-negative number")
            }
            thresholdStorage = nil
            threshold = .scalar(value)
        }
    }

    var device: Device { x.device }

    /// Counts the surviving inputs on the device and applies the cost model.
    func decide(model: SparseCostModel?) throws(TensorError) -> SparseDecision {
        let counts = try device.backend.makeBuffer(elementCount: rows + 1)
        try device.backend.run(.sparseActiveCounts(x: x.storage, rows: rows, inner: inner, threshold: threshold,
                                                   counts: counts))
        let values = try Tensor(storage: counts, shape: [rows + 1], dtype: .int32, device: device).toInt32Array()
        let rowCounts = values.prefix(rows).map(Int.init)
        let union = Int(values[rows])
        let chosen = (model ?? .default(for: device.kind))
            .choose(rows: rows, inner: inner, columns: columns, rowCounts: rowCounts, unionCount: union)
        return SparseDecision(rowCounts: rowCounts, unionCount: union, inner: inner, mode: chosen)
    }

    func run(mode: SparseMode?, model: SparseCostModel?) throws(TensorError) -> Tensor {
        let out = try OpSupport.output([rows, columns], on: device)
        if out.elementCount > 0 {
            var chosen = SparseMode.dense
            if let mode {
                chosen = mode
            } else if inner > 0 {
                chosen = try decide(model: model).mode
            }
            try device.backend.run(.sparseMatmul(x: x.storage, w: w.storage, y: out.storage, rows: rows, inner: inner,
                                                 columns: columns, threshold: threshold, mode: chosen))
        }
        return try out.reshaped(outputShape)
    }
}

/// Output-sparse product for predictor-driven skipping: computes only the outputs listed in
/// `activeRows` and returns 0 for every other output.
///
/// `x` is [K] or [..., K], `w` is [N, K] (one row per output, e.g. an up-projection stored
/// output-major), `activeRows` an int32 tensor of output indices in 0..<N (any order;
/// duplicates are harmless). For each listed n: `y[..., n] = activation(x . w[n, :] + bias[n])`;
/// unlisted outputs are exactly 0 (not `activation(bias)`). Only the listed weight rows are read.
///
/// ```swift
/// let active = try Tensor(int32: [3, 17, 42], shape: [3], on: .cpu)   // from a predictor
/// let h = try outputSparseMatmul(x, wUp, activeRows: active, activation: .relu)
/// ```
public func outputSparseMatmul(_ x: Tensor, _ w: Tensor, activeRows: Tensor, bias: Tensor? = nil,
                               activation: Activation = .identity) throws(TensorError) -> Tensor {
    let op = "outputSparseMatmul"
    try OpSupport.sameDevice(op, x, w)
    try OpSupport.sameDevice(op, x, activeRows)
    try OpSupport.floats(op, x, w)
    guard w.rank == 2 else { throw .invalidShape(op: op, shape: w.shape, reason: "weight must be [N, K]") }
    guard x.rank >= 1, x.shape[x.rank - 1] == w.shape[1] else {
        throw .shapeMismatch(op: op, lhs: x.shape, rhs: w.shape, reason: "input features differ from weight columns")
    }
    guard activeRows.dtype == .int32, activeRows.rank == 1 else {
        throw .invalidArgument(op: op, reason: "activeRows must be a rank-1 int32 tensor of output indices")
    }
    let columns = w.shape[0], inner = w.shape[1]
    let rows = x.rank == 1 ? 1 : x.shape.dropLast().reduce(1, *)
    let indices = try activeRows.toInt32Array()
    if let bad = indices.first(where: { $0 < 0 || Int($0) >= columns }) {
        throw .invalidArgument(op: op, reason: "active row \(bad) is outside 0..<\(columns)")
    }
    var biasStorage: (any BackendBuffer)?
    if let bias {
        try OpSupport.sameDevice(op, x, bias)
        try OpSupport.floats(op, bias)
        guard bias.shape == [columns] else {
            throw .shapeMismatch(op: op, lhs: bias.shape, rhs: w.shape, reason: "bias must be [N] for weight [N, K]")
        }
        biasStorage = try bias.contiguous().storage
    }
    let flat = try x.contiguous(), weight = try w.contiguous(), list = try activeRows.contiguous()
    let out = try OpSupport.output([rows, columns], on: x.device)
    if out.elementCount > 0 {
        try x.device.backend.run(.outputSparseMatmul(x: flat.storage, w: weight.storage, activeRows: list.storage,
                                                     activeCount: indices.count, y: out.storage, rows: rows,
                                                     inner: inner, columns: columns,
                                                     epilogue: MatmulEpilogue(bias: biasStorage, activation: activation)))
    }
    return try out.reshaped(Array(x.shape.dropLast()) + [columns])
}
