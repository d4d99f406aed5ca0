import TensorCore

/// Scaled dot-product attention, fused: `softmax(query key^T * scale + mask) value`, per
/// batch and head, without ever storing the Lq x Lk scores or probabilities.
///
/// `query` is [B, H, Lq, Dh], `key` [B, H, Lk, Dh] and `value` [B, H, Lk, Dv] (Dv may differ
/// from Dh); the result is [B, H, Lq, Dv]. `scale` defaults to `1 / sqrt(Dh)`. Head and value
/// dimensions up to ``AttentionGeometry/maxHeadDimension`` (128) are supported; larger ones throw.
///
/// - `mask` is ADDITIVE, float32, broadcastable to [B, H, Lq, Lk] (e.g. the [B, 1, 1, Lk]
///   padding mask of transformers: 0 for kept keys, a very negative number such as -3.4e38 or
///   `-inf` for padding). A broadcast mask is read in place, never expanded. It is treated as
///   a constant: no gradient flows into it.
/// - `causal` masks key j > query i, aligned at the top left as PyTorch's `is_causal`
///   (`tril(ones(Lq, Lk))`) for any Lq and Lk, so with Lq != Lk query i still sees keys 0...i
///   (not the bottom-right alignment of a key-value cache). Mask and causal combine.
/// - A query whose every score is `-inf` (fully masked with `-inf`) gives an output row of 0
///   and zero gradients (PyTorch's math path gives NaN there). With finite very negative
///   values instead (-3.4e38), a fully masked row is the uniform average of the values, as in
///   PyTorch, since its scores round to the same float.
///
/// Forward runs one fused kernel (an online softmax with a running maximum and sum) that writes
/// the output and each query's log-sum-exp; backward recomputes the probabilities per tile
/// from the log-sum-exp, so autograd keeps only q, k, v, the output and the log-sum-exp
/// (`retainedBytesByOp()` reports them under "scaledDotProductAttention").
///
/// With `storage: .int8(groupSize:)` (Mesa's 8-bit storage, ``ActivationStorage``) autograd
/// keeps only q, k and v as int8 codes and scales, in groups along the head dimension
/// ("scaledDotProductAttention (int8)"); backward dequantises them, recomputes the output and
/// log-sum-exp from the dequantised values with one more fused forward, and runs the exact
/// backward there. The gradients are so exactly those of attention at the dequantised q, k, v.
///
/// ```swift
/// let q = try Tensor.randn([2, 12, 128, 32], seed: 1, on: .cpu)
/// let k = try Tensor.randn([2, 12, 128, 32], seed: 2, on: .cpu)
/// let v = try Tensor.randn([2, 12, 128, 32], seed: 3, on: .cpu)
/// let pad = try Tensor([Float](repeating: 0, count: 2 * 128), shape: [2, 1, 1, 128], on: .cpu)
/// let y = try scaledDotProductAttention(query: q, key: k, value: v, mask: pad, causal: true)   // [2, 12, 128, 32]
/// ```
///
/// float16 or bfloat16 query, key and value are read as stored and computed in float32; the
/// result is of their type when all three share it (float32 otherwise), rounded once (the
/// Vulkan kernel's 16-bit variant, or casts around the float32 kernel). The mask stays
/// float32. When a gradient is recorded, the operands are cast to float32 first, so backward
/// is the float32 graph between casts.
///
/// ```swift
/// let h = try scaledDotProductAttention(query: q.cast(to: .float16), key: k.cast(to: .float16),
///                                       value: v.cast(to: .float16), causal: true)   // float16
/// ```
public func scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor, mask: Tensor? = nil,
                                      causal: Bool = false, scale: Float? = nil,
                                      storage: ActivationStorage = .float32) throws(TensorError) -> Tensor {
    let op = "scaledDotProductAttention"
    try storage.validate(op: op)
    try ReducedPrecision.requireFloatingPoint(op, query, key, value)
    let resultType = query.dtype == key.dtype && key.dtype == value.dtype ? query.dtype : .float32
    if ReducedPrecision.recordsGradient([query, key, value]) {
        // The float32 graph between casts: each cast's gradient is cast back.
        return try scaledDotProductAttention(query: ReducedPrecision.widened(query), key: ReducedPrecision.widened(key),
                                             value: ReducedPrecision.widened(value), mask: mask, causal: causal,
                                             scale: scale, storage: storage).cast(to: resultType)
    }
    try OpSupport.sameDevice(op, query, key)
    try OpSupport.sameDevice(op, query, value)
    for (name, tensor) in [("query", query), ("key", key), ("value", value)] where tensor.rank != 4 {
        throw .invalidShape(op: op, shape: tensor.shape, reason: "\(name) must be rank 4 [batch, heads, length, headDim]")
    }
    guard key.shape[0] == query.shape[0], key.shape[1] == query.shape[1], key.shape[3] == query.shape[3] else {
        throw .shapeMismatch(op: op, lhs: query.shape, rhs: key.shape,
                             reason: "query and key must agree in batch, heads and head dimension")
    }
    guard value.shape[0] == key.shape[0], value.shape[1] == key.shape[1], value.shape[2] == key.shape[2] else {
        throw .shapeMismatch(op: op, lhs: key.shape, rhs: value.shape,
                             reason: "key and value must agree in batch, heads and length")
    }
    let (batch, heads, queryLength, headDim) = (query.shape[0], query.shape[1], query.shape[2], query.shape[3])
    let keyLength = key.shape[2], valueDim = value.shape[3]
    let limit = AttentionGeometry.maxHeadDimension
    guard headDim >= 1, headDim <= limit else {
        throw .invalidShape(op: op, shape: query.shape, reason: "head dimension \(headDim) outside the supported 1...\(limit)")
    }
    guard valueDim <= limit else {
        throw .invalidShape(op: op, shape: value.shape, reason: "value dimension \(valueDim) above the supported \(limit)")
    }
    let factor = scale ?? 1 / Float(headDim).squareRoot()
    guard factor.isFinite else { throw .invalidArgument(op: op, reason: "scale \(factor) is not finite") }
    let scoresShape = [batch, heads, queryLength, keyLength]
    var attentionMask: AttentionMask?
    if let mask {
        try OpSupport.floats(op, mask)
        try OpSupport.sameDevice(op, query, mask)
        guard mask.rank <= 4,
              (try? ShapeMath.broadcast(mask.shape, scoresShape, op: op)) == scoresShape else {
            throw .shapeMismatch(op: op, lhs: mask.shape, rhs: scoresShape, reason: "mask must broadcast to [B, H, Lq, Lk]")
        }
        attentionMask = AttentionMask(buffer: mask.storage, layout: StridedLayout(
            shape: scoresShape, strides: broadcastStrides(mask, to: scoresShape), offset: mask.offset))
    }
    let geometry = AttentionGeometry(batch: batch, heads: heads, queryLength: queryLength, keyLength: keyLength,
                                     headDimension: headDim, valueDimension: valueDim, scale: factor, causal: causal)
    // Key and value share one storage type in the kernel: float32 when they differ.
    let sharedKeyValue = key.dtype == value.dtype
    let q = try query.contiguous()
    let k = try (sharedKeyValue ? key : ReducedPrecision.widened(key)).contiguous()
    let v = try (sharedKeyValue ? value : ReducedPrecision.widened(value)).contiguous()
    let device = query.device
    let types = OperandTypes(a: q.dtype, b: k.dtype, c: resultType)
    let (out, lse) = try attentionForward(geometry, q, k, v, mask: attentionMask, on: device, types: types)
    let maskView = attentionMask
    if case let .int8(groupSize) = storage {
        guard !GradMode.disabled, [query, key, value].contains(where: { $0.requiresGrad }) else { return out }
        let saved = try [q, k, v].map { (t) throws(TensorError) in try QuantizedActivation.quantize(t, groupSize: groupSize) }
        let retained = saved.flatMap { $0.retained(label: op + " (int8)") }
        return Autograd.record(op, out, inputs: [q, k, v], retained: retained) { (gradient) throws(TensorError) in
            let restored = try saved.map { (form) throws(TensorError) in try form.dequantized() }
            let (output, logSumExp) = try attentionForward(geometry, restored[0], restored[1], restored[2], mask: maskView,
                                                           on: device)
            return try attentionGradients(geometry, restored[0], restored[1], restored[2], mask: maskView, output: output,
                                          logSumExp: logSumExp, gradient: gradient)
        }
    }
    let output = out
    let retained = [q, k, v, out, lse].map { RetainedStorage($0) }
    return Autograd.record(op, out, inputs: [q, k, v], retained: retained) { (gradient) throws(TensorError) in
        try attentionGradients(geometry, q, k, v, mask: maskView, output: output, logSumExp: lse, gradient: gradient)
    }
}

/// The fused forward: the output [B, H, Lq, Dv] and each query's log-sum-exp [B, H, Lq].
/// `types` are q's, k's and v's, and the output's storage types (float32 unless a caller without
/// gradients passed 16-bit operands).
private func attentionForward(_ geometry: AttentionGeometry, _ q: Tensor, _ k: Tensor, _ v: Tensor, mask: AttentionMask?,
                              on device: Device,
                              types: OperandTypes = .float32) throws(TensorError) -> (output: Tensor, logSumExp: Tensor) {
    let shape = [geometry.batch, geometry.heads, geometry.queryLength, geometry.valueDimension]
    let out = Tensor(storage: try device.backend.makeBuffer(count: ShapeMath.elementCount(shape), dtype: types.c),
                     shape: shape, dtype: types.c, device: device)
    let lse = try OpSupport.output([geometry.batch, geometry.heads, geometry.queryLength], on: device)
    if lse.elementCount > 0 {
        try device.backend.run(.attentionForward(geometry, query: q.storage, key: k.storage, value: v.storage,
                                                 mask: mask, output: out.storage, logSumExp: lse.storage, types: types))
    }
    return (out, lse)
}

/// dQ, dK, dV from the forward's output and log-sum-exp (contiguous q, k, v).
private func attentionGradients(_ geometry: AttentionGeometry, _ q: Tensor, _ k: Tensor, _ v: Tensor, mask: AttentionMask?,
                                output: Tensor, logSumExp: Tensor, gradient: Tensor) throws(TensorError) -> [Tensor?] {
    let device = q.device
    let g = try gradient.contiguous()
    let dQ = try OpSupport.output(q.shape, on: device)
    let dK = try OpSupport.output(k.shape, on: device)
    let dV = try OpSupport.output(v.shape, on: device)
    if dQ.elementCount + dK.elementCount + dV.elementCount > 0 {
        try device.backend.run(.attentionBackward(geometry, query: q.storage, key: k.storage, value: v.storage,
                                                  mask: mask, output: output.storage, logSumExp: logSumExp.storage,
                                                  gradOutput: g.storage, gradQuery: dQ.storage, gradKey: dK.storage,
                                                  gradValue: dV.storage))
    }
    return [dQ, dK, dV]
}
