import TensorCore

/// Embedding lookup: row `indices[s]` of `weight` [vocabulary, width] for every position s
/// of the int32 `indices` (any shape S, rank 0 included), giving [S..., width]; as
/// `torch.nn.functional.embedding`.
///
/// An index outside 0..<vocabulary throws (naming the index, its position and the
/// vocabulary size). To check them the indices are read on the host: for indices uploaded
/// from the host that costs one copy of `4 * count` bytes and waits only for queued work
/// that writes them, never for the weight (the same trade as ``softmaxCrossEntropy(logits:labels:ignoreIndex:)``
/// makes for labels). The kernels themselves also turn an out-of-range index into a row of
/// zeros, so nothing is read out of bounds even without the check.
///
/// The gradient of `weight` is a scatter-add of the incoming rows by index: a row named
/// several times accumulates, summed in ascending position on both backends, so two
/// backward passes give bitwise identical results (no float atomics; see
/// ``BackendOp/scatterAddRows``). Backward keeps only the indices, not the weight. On
/// Vulkan the backward takes at most 2^20 indices per call.
///
/// The weight may be float32, float16 or bfloat16; the rows are copied bit for bit, so the
/// output has the weight's dtype (as in PyTorch; cast it for float32 arithmetic), and a
/// 2-byte weight's gradient is summed in float32 and rounded once to its dtype.
///
/// ```swift
/// let table = try Tensor.randn([30522, 384], on: .cpu).requiringGrad()
/// let ids = try Tensor(int32: [101, 7592, 102], shape: [1, 3], on: .cpu)
/// let e = try embedding(ids, weight: table)        // [1, 3, 384]
/// try e.sum().backward()                           // table.grad: rows 101, 7592, 102 are 1
/// ```
public func embedding(_ indices: Tensor, weight: Tensor) throws(TensorError) -> Tensor {
    let op = "embedding"
    try OpSupport.sameDevice(op, indices, weight)
    guard indices.dtype == .int32 else { throw .unsupportedDType(op: op + " indices", dtype: indices.dtype) }
    guard weight.dtype.isFloatingPoint else { throw .unsupportedDType(op: op + " weight", dtype: weight.dtype) }
    guard weight.rank == 2 else {
        throw .invalidShape(op: op, shape: weight.shape, reason: "the weight must be [vocabulary, width]")
    }
    let (vocabulary, width) = (weight.shape[0], weight.shape[1])
    let outputShape = indices.shape + [width]
    try ShapeMath.validate(outputShape, op: op)
    let ids = try indices.contiguous()
    for (position, index) in try ids.toInt32Array().enumerated() where index < 0 || Int(index) >= vocabulary {
        throw .invalidArgument(op: op, reason: "index \(index) at position \(position) is outside 0..<\(vocabulary) (the weight has \(vocabulary) rows)")
    }
    let count = ids.elementCount
    let out = try EmbeddingSupport.gatherRows(weight, rows: vocabulary, columns: width, indices: ids, count: count,
                                              shape: outputShape)
    let dtype = weight.dtype   // the closure must not capture the weight itself: backward keeps only the indices
    return Autograd.record(op, out, inputs: [weight], retained: [RetainedStorage(ids, label: "embedding indices")]) { (g) throws(TensorError) in
        [try EmbeddingSupport.scatterAdd(g, indices: ids, count: count, columns: width, rows: vocabulary,
                                         shape: [vocabulary, width], dtype: dtype)]
    }
}

/// Values of `x` picked along `axis` by the int32 `indices`, as `torch.gather`:
/// `out[i][j][k] = x[indices[i][j][k]][j][k]` for axis 0 (and likewise for the other axes).
///
/// `indices` has the rank of `x` and at most its extent on every other axis; the result has
/// the indices' shape and `x`'s dtype (float32, float16, bfloat16 or int32: values are copied
/// bit for bit). Negative axes count from the end. An index outside the axis throws
/// (the indices are read on the host to check them and to turn them into element offsets of
/// `x`; see ``embedding(_:weight:)`` for that cost). The gradient is a deterministic
/// scatter-add into zeros of `x`'s shape: repeated indices accumulate, in ascending position.
///
/// ```swift
/// let x = try Tensor([1, 2, 3, 4], shape: [2, 2], on: .cpu)
/// let i = try Tensor(int32: [0, 0, 1, 0], shape: [2, 2], on: .cpu)
/// let y = try gather(x, axis: 1, indices: i)       // [[1, 1], [4, 3]]
/// ```
public func gather(_ x: Tensor, axis: Int, indices: Tensor) throws(TensorError) -> Tensor {
    let op = "gather"
    try OpSupport.sameDevice(op, x, indices)
    guard x.dtype.byteSize >= 2 else { throw .unsupportedDType(op: op, dtype: x.dtype) }
    guard indices.dtype == .int32 else { throw .unsupportedDType(op: op + " indices", dtype: indices.dtype) }
    guard x.rank == indices.rank else {
        throw .shapeMismatch(op: op, lhs: x.shape, rhs: indices.shape, reason: "the indices must have the rank of the input")
    }
    // A rank-0 input gathers along its one implicit axis of extent 1, as in PyTorch.
    let xShape = x.rank == 0 ? [1] : x.shape, indexShape = x.rank == 0 ? [1] : indices.shape
    let resolved = try ShapeMath.normalizeAxis(axis, rank: xShape.count, op: op)
    for d in xShape.indices where d != resolved && indexShape[d] > xShape[d] {
        throw .shapeMismatch(op: op, lhs: x.shape, rhs: indices.shape,
                             reason: "the indices are longer than the input on axis \(d), which is not the gather axis \(axis)")
    }
    guard x.elementCount <= Int(Int32.max) else {
        throw .invalidShape(op: op, shape: x.shape, reason: "more than 2^31 - 1 elements cannot be addressed by int32 offsets")
    }
    // Element offsets into the row-major x: the coordinates of each index position, with the
    // index itself on the gather axis.
    let xStrides = ShapeMath.contiguousStrides(xShape)
    let extent = xShape[resolved]
    let values = try indices.contiguous().toInt32Array()
    var offsets = [Int32](repeating: 0, count: values.count)
    var coordinate = [Int](repeating: 0, count: indexShape.count)
    for (position, index) in values.enumerated() {
        guard index >= 0, Int(index) < extent else {
            throw .invalidArgument(op: op, reason: "index \(index) at position \(position) is outside 0..<\(extent) (axis \(axis) of \(x.shape))")
        }
        var offset = 0
        for d in indexShape.indices { offset += (d == resolved ? Int(index) : coordinate[d]) * xStrides[d] }
        offsets[position] = Int32(offset)
        var d = indexShape.count - 1
        while d >= 0 {
            coordinate[d] += 1
            if coordinate[d] < indexShape[d] { break }
            coordinate[d] = 0
            d -= 1
        }
    }
    let count = values.count
    let flat = try Tensor(int32: offsets, shape: [count], on: x.device)
    let out = try EmbeddingSupport.gatherRows(x, rows: x.elementCount, columns: 1, indices: flat, count: count,
                                              shape: indices.shape)
    let shape = x.shape, elements = x.elementCount, dtype = x.dtype
    return Autograd.record(op, out, inputs: [x], retained: [RetainedStorage(flat, label: "gather offsets")]) { (g) throws(TensorError) in
        [try EmbeddingSupport.scatterAdd(g, indices: flat, count: count, columns: 1, rows: elements, shape: shape, dtype: dtype)]
    }
}

/// The backward shared by ``embedding(_:weight:)`` and ``gather(_:axis:indices:)``.
enum EmbeddingSupport {
    /// A new tensor of `shape` and `table`'s dtype: rows `indices` (count int32, already
    /// checked) of `table` viewed as row-major [rows, columns].
    static func gatherRows(_ table: Tensor, rows: Int, columns: Int, indices: Tensor, count: Int,
                           shape: [Int]) throws(TensorError) -> Tensor {
        let source = try table.detached().contiguous()
        let buffer = try table.device.backend.makeBuffer(count: ShapeMath.elementCount(shape), dtype: table.dtype)
        if count * columns > 0 {
            try table.device.backend.run(.gatherRows(table: source.storage, dtype: table.dtype, rows: rows, columns: columns,
                                                     indices: indices.storage, count: count, output: buffer))
        }
        return Tensor(storage: buffer, shape: shape, dtype: table.dtype, device: table.device)
    }

    /// A new tensor of `shape` (rows * columns elements) and `dtype` holding the deterministic
    /// row scatter-add of `gradient` ([count, columns] in row-major order) by `indices`, summed
    /// in float32 (a 2-byte `dtype` is rounded once at the end).
    static func scatterAdd(_ gradient: Tensor, indices: Tensor, count: Int, columns: Int, rows: Int,
                           shape: [Int], dtype: DType) throws(TensorError) -> Tensor {
        let source = try gradient.detached().cast(to: .float32).contiguous()
        let out = try OpSupport.output(shape, on: gradient.device)
        if out.elementCount > 0 {
            try gradient.device.backend.run(.scatterAddRows(source: source.storage, indices: indices.storage, count: count,
                                                            columns: columns, rows: rows, output: out.storage))
        }
        return try out.cast(to: dtype)
    }
}
