import TensorCore

/// Elementwise choice: `a` where `condition` is nonzero, else `b`, with NumPy broadcasting of
/// all three (as `torch.where`; a NaN condition counts as nonzero). The condition is a float32
/// mask such as a comparison gives, and gets no gradient; `a`'s gradient is the output's where
/// the condition holds (0 elsewhere), `b`'s the rest, each summed over its broadcast axes.
/// `which` is the same function (mlx-swift's name, callable without backquotes).
/// float16 / bfloat16 operands are selected in float32 (exactly) and the result has their
/// type when `a` and `b` agree, float32 otherwise.
///
/// ```swift
/// let x = try Tensor([-2, 0.5, 3], shape: [3], on: .cpu)
/// let clipped = try `where`(x .> 1, Tensor(scalar: 1, on: .cpu), x)   // [-2, 0.5, 1]
/// let relu = try which(x .> 0, x, Tensor(scalar: 0, on: .cpu))        // [0, 0.5, 3]
/// ```
public func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) throws(TensorError) -> Tensor {
    let op = "where"
    try OpSupport.sameDevice(op, condition, a)
    try OpSupport.sameDevice(op, a, b)
    try ReducedPrecision.requireFloatingPoint(op, condition, a, b)
    if [condition, a, b].contains(where: { $0.dtype != .float32 }) {
        // The float32 selection between casts (exact both ways); gradients flow through the casts.
        return try `where`(ReducedPrecision.widened(condition), ReducedPrecision.widened(a), ReducedPrecision.widened(b))
            .cast(to: ReducedPrecision.resultType(a.dtype, b.dtype))
    }
    let shape = try ShapeMath.broadcast(try ShapeMath.broadcast(condition.shape, a.shape, op: op), b.shape, op: op)
    let out = try OpSupport.output(shape, on: a.device)
    guard out.elementCount > 0 else { return out }
    var operands = [condition.detached(), a.detached(), b.detached()]
    var merged = StridedLayout.coalesce(shape: shape, strideSets: operands.map { broadcastStrides($0, to: shape) })
    if merged.shape.count > SelectLimits.maxRank {
        // Too many independent axes for the kernels' layouts: materialise the operands at the
        // output's shape, which then merge into one axis.
        operands = try operands.map { (t) throws(TensorError) in try t.expanded(to: shape).contiguous() }
        merged = StridedLayout.coalesce(shape: shape, strideSets: operands.map { broadcastStrides($0, to: shape) })
    }
    func layout(_ index: Int) -> StridedLayout {
        StridedLayout(shape: merged.shape, strides: merged.strides[index], offset: operands[index].offset)
    }
    try a.device.backend.run(.select(condition: operands[0].storage, conditionLayout: layout(0),
                                     a: operands[1].storage, aLayout: layout(1),
                                     b: operands[2].storage, bLayout: layout(2), output: out.storage))
    let mask = condition.detached()
    let (needA, needB, shapeA, shapeB) = (a.requiresGrad, b.requiresGrad, a.shape, b.shape)
    return Autograd.record(op, out, inputs: [a, b], retained: [RetainedStorage(mask)]) { (g) throws(TensorError) in
        let zero = try Tensor(scalar: 0, on: g.device)
        let ga = needA ? try Autograd.reduce(try `where`(mask, g, zero), to: shapeA) : nil
        let gb = needB ? try Autograd.reduce(try `where`(mask, zero, g), to: shapeB) : nil
        return [ga, gb]
    }
}

/// ``where(_:_:_:)`` under mlx-swift's name, callable without backquotes.
///
/// ```swift
/// let y = try which(mask, x, Tensor(scalar: 0, on: .cpu))
/// ```
public func which(_ condition: Tensor, _ a: Tensor, _ b: Tensor) throws(TensorError) -> Tensor {
    try `where`(condition, a, b)
}

/// ``where(_:_:_:)`` with a scalar for the elements where the condition is zero.
///
/// ```swift
/// let kept = try `where`(x .> 0, x, 0)
/// ```
public func `where`(_ condition: Tensor, _ a: Tensor, _ b: Float) throws(TensorError) -> Tensor {
    try `where`(condition, a, Tensor.scalar(b, like: a))   // a's type: a float16 `a` gives float16
}

/// ``where(_:_:_:)`` with a scalar for the elements where the condition is nonzero.
///
/// ```swift
/// let masked = try `where`(padding, -1e9, scores)
/// ```
public func `where`(_ condition: Tensor, _ a: Float, _ b: Tensor) throws(TensorError) -> Tensor {
    try `where`(condition, Tensor.scalar(a, like: b), b)   // b's type
}
