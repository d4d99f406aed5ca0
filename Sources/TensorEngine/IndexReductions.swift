import TensorCore

extension Tensor {
    /// The maximum over `axis` (negative counts from the end); `keepDims` leaves a 1 in its
    /// place. NaN propagates (the first NaN is the maximum, as in PyTorch); the gradient goes
    /// to the position ``argmax(axis:keepDims:)`` reports (the first of tied maxima).
    ///
    /// ```swift
    /// let x = try Tensor([1, 7, 3, 7, 2, 0], shape: [2, 3], on: .cpu)
    /// let m = try x.max(axis: 1)          // [7, 7]
    /// ```
    public func max(axis: Int, keepDims: Bool = false) throws(TensorError) -> Tensor {
        try reduceWithIndex(.max, axis: axis, keepDims: keepDims).values
    }

    /// The minimum over `axis`; NaN propagates, ties and the gradient go to the first minimum.
    ///
    /// ```swift
    /// let m = try x.min(axis: 0, keepDims: true)   // [1, 3]: [[1, 2, 0]]
    /// ```
    public func min(axis: Int, keepDims: Bool = false) throws(TensorError) -> Tensor {
        try reduceWithIndex(.min, axis: axis, keepDims: keepDims).values
    }

    /// The int32 position of the maximum along `axis`: the first of ties, the first NaN if
    /// any (as `torch.argmax`). Not differentiable.
    ///
    /// ```swift
    /// let i = try x.argmax(axis: 1)       // int32 [1, 0]
    /// let labels = try i.toInt32Array()
    /// ```
    public func argmax(axis: Int, keepDims: Bool = false) throws(TensorError) -> Tensor {
        try withNoGrad { () throws(TensorError) in try reduceWithIndex(.max, axis: axis, keepDims: keepDims).indices }
    }

    /// The int32 position of the minimum along `axis` (first of ties, first NaN if any).
    ///
    /// ```swift
    /// let i = try x.argmin(axis: -1)      // int32 [0, 2]
    /// ```
    public func argmin(axis: Int, keepDims: Bool = false) throws(TensorError) -> Tensor {
        try withNoGrad { () throws(TensorError) in try reduceWithIndex(.min, axis: axis, keepDims: keepDims).indices }
    }

    /// The maximum or minimum over `axis` and its int32 position, in one pass (as `torch.max(x, dim)`).
    /// A float16 / bfloat16 tensor's values keep its type (found in float32, exactly).
    ///
    /// ```swift
    /// let (values, indices) = try x.reduceWithIndex(.max, axis: 1)
    /// ```
    public func reduceWithIndex(_ kind: ReduceIndexOp, axis: Int,
                                keepDims: Bool = false) throws(TensorError) -> (values: Tensor, indices: Tensor) {
        let op = kind.description
        try ReducedPrecision.requireFloatingPoint(op, self)
        if dtype != .float32 {
            let (values, indices) = try ReducedPrecision.widened(self).reduceWithIndex(kind, axis: axis, keepDims: keepDims)
            return (try values.cast(to: dtype), indices)
        }
        guard rank > 0 else { throw .invalidArgument(op: op, reason: "a rank-0 tensor has no axis \(axis)") }
        let resolved = try ShapeMath.normalizeAxis(axis, rank: rank, op: op)
        let length = shape[resolved]
        var outShape = shape
        if keepDims { outShape[resolved] = 1 } else { outShape.remove(at: resolved) }
        let count = ShapeMath.elementCount(outShape)
        guard length > 0 || count == 0 else {
            throw .invalidShape(op: op, shape: shape, reason: "axis \(axis) is empty: no \(op) to take")
        }
        let values = try OpSupport.output(outShape, on: device)
        let indices = Tensor(storage: try device.backend.makeBuffer(count: count, dtype: .int32), shape: outShape,
                             dtype: .int32, device: device)
        guard count > 0 else { return (values, indices) }
        let (source, layout) = try reductionLayout(axis: resolved)
        try device.backend.run(.reduceIndex(kind, input: source.storage, layout: layout, values: values.storage,
                                            indices: indices.storage))
        let inputShape = shape
        let (outer, inner) = (layout.shape[0], layout.shape[2])
        let positions = indices
        let recorded = Autograd.record(op, values, inputs: [self],
                                       retained: [RetainedStorage(positions, label: "\(op) indices")]) { (g) throws(TensorError) in
            // The gradient lands on each output's source position: a one-hot mask along the axis.
            let mask = try oneHotMask(positions, rows: outer * inner, classes: length)
                .reshaped([outer, inner, length]).permuted([0, 2, 1])
            return [try (mask * g.reshaped([outer, 1, inner])).reshaped(inputShape)]
        }
        return (recorded, indices)
    }
}

/// float32 [rows, classes] with a 1 at each contiguous int32 `indices` element's column
/// (every index in 0..<classes), 0 elsewhere.
func oneHotMask(_ indices: Tensor, rows: Int, classes: Int) throws(TensorError) -> Tensor {
    let source = try indices.contiguous()
    let out = try OpSupport.output([rows, classes], on: indices.device)
    if rows * classes > 0 {
        try indices.device.backend.run(.oneHot(labels: source.storage, rows: rows, classes: classes,
                                               ignoreIndex: Int32.min, output: out.storage))
    }
    return out
}

/// The `k` largest (or smallest) elements along `axis` and their int32 positions, sorted best
/// first (as `torch.topk(sorted=True)`): ties go to the lower index, NaN ranks above +inf (so
/// it comes first when `largest`, last otherwise). The gradient of the values scatters back to
/// the positions. Throws for `k` outside 0...extent and for an axis out of range. Each row is a
/// sort on the CPU and k passes over the row on Vulkan (meant for small k); the backward
/// builds a [rows, k, extent] one-hot mask. A float16 / bfloat16 tensor's values keep its
/// type (ranked in float32, exactly).
///
/// ```swift
/// let x = try Tensor([3, 1, 4, 1, 5, 9], shape: [2, 3], on: .cpu)
/// let (values, indices) = try topK(x, k: 2)    // [[4, 3], [9, 5]], int32 [[2, 0], [2, 1]]
/// ```
public func topK(_ x: Tensor, k: Int, axis: Int = -1,
                 largest: Bool = true) throws(TensorError) -> (values: Tensor, indices: Tensor) {
    let op = "topK"
    try ReducedPrecision.requireFloatingPoint(op, x)
    if x.dtype != .float32 {
        let (values, indices) = try topK(ReducedPrecision.widened(x), k: k, axis: axis, largest: largest)
        return (try values.cast(to: x.dtype), indices)
    }
    guard x.rank > 0 else { throw .invalidArgument(op: op, reason: "a rank-0 tensor has no axis \(axis)") }
    let resolved = try ShapeMath.normalizeAxis(axis, rank: x.rank, op: op)
    let extent = x.shape[resolved]
    guard k >= 0, k <= extent else {
        throw .invalidArgument(op: op, reason: "k \(k) outside 0...\(extent), the extent of axis \(axis) of \(x.shape)")
    }
    // The axis moved last, rows contiguous.
    var axes = Array(0..<x.rank)
    axes.remove(at: resolved)
    axes.append(resolved)
    var inverse = axes
    for (position, a) in axes.enumerated() { inverse[a] = position }
    let moved = try x.detached().permuted(axes).contiguous()
    let rows = extent == 0 ? 0 : moved.elementCount / extent
    var movedShape = moved.shape
    movedShape[movedShape.count - 1] = k
    let values = try OpSupport.output(movedShape, on: x.device)
    let indices = Tensor(storage: try x.device.backend.makeBuffer(count: values.elementCount, dtype: .int32),
                         shape: movedShape, dtype: .int32, device: x.device)
    if rows * k > 0 {
        try x.device.backend.run(.topK(input: moved.storage, rows: rows, columns: extent, k: k, largest: largest,
                                       values: values.storage, indices: indices.storage))
    }
    let resultValues = try values.permuted(inverse).contiguous()
    let resultIndices = try indices.permuted(inverse).contiguous()
    let shapeMoved = moved.shape, original = inverse, forward = axes
    let recorded = Autograd.record(op, resultValues, inputs: [x],
                                   retained: [RetainedStorage(indices, label: "topK indices")]) { (g) throws(TensorError) in
        let rowsGrad = try g.permuted(forward).contiguous().reshaped([rows, k, 1])
        let mask = try oneHotMask(indices, rows: rows * k, classes: extent).reshaped([rows, k, extent])
        let scattered = try (mask * rowsGrad).sum(axis: 1).reshaped(shapeMoved)
        return [try scattered.permuted(original).contiguous()]
    }
    return (recorded, resultIndices)
}
