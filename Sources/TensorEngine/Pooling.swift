import TensorCore

/// The mean over the sequence axis of `x` [batch, length, features], counting only the
/// positions where `mask` [batch, length] is nonzero (1 for a real token, 0 for padding; float32
/// or int32, as a tokenizer's attention mask). Gives [batch, features]: sentence-transformers'
/// mean pooling, `sum(x * mask) / max(sum(mask), 1e-9)`, so an all-padding row is 0, not NaN.
/// Without a mask every position counts. Differentiable in `x`. A float16 / bfloat16 `x` is
/// pooled in float32 and the result rounded once to its type.
///
/// ```swift
/// let hidden = try encoder(tokens)                          // [2, 7, 384]
/// let sentences = try meanPool(hidden, mask: attentionMask) // [2, 384]
/// ```
public func meanPool(_ x: Tensor, mask: Tensor? = nil) throws(TensorError) -> Tensor {
    if x.dtype == .float16 || x.dtype == .bfloat16 {
        return try meanPool(ReducedPrecision.widened(x), mask: mask).cast(to: x.dtype)
    }
    guard x.rank == 3 else {
        throw .invalidShape(op: "meanPool", shape: x.shape, reason: "needs [batch, length, features]")
    }
    guard let mask else { return try x.mean(axis: 1) }
    guard mask.shape == [x.shape[0], x.shape[1]] else {
        throw .shapeMismatch(op: "meanPool", lhs: x.shape, rhs: mask.shape,
                             reason: "the mask must be [batch, length] of the input [batch, length, features]")
    }
    guard mask.device == x.device else {
        throw .invalidArgument(op: "meanPool", reason: "the mask is on \(mask.device), the input on \(x.device)")
    }
    let weights = try (mask.dtype == .float32 ? mask : mask.cast(to: .float32)).detached()
        .reshaped([x.shape[0], x.shape[1], 1])
    let sums = try (x * weights).sum(axis: 1)
    let counts = try maximum(weights.sum(axis: 1), Tensor(scalar: 1e-9, on: x.device))
    return try sums / counts
}

/// `x` divided by its L2 norm along `axis` (default the last), `x / max(||x||, epsilon)`, as
/// `torch.nn.functional.normalize`: a zero vector stays zero. Differentiable. A float16 /
/// bfloat16 `x` is normalised in float32 (its squared norm and epsilon^2 do not fit 16 bits)
/// and the result rounded once to its type.
///
/// ```swift
/// let unit = try l2Normalize(sentences)     // each row has norm 1
/// let cosine = try (unit * other).sum(axis: -1)
/// ```
public func l2Normalize(_ x: Tensor, axis: Int = -1, epsilon: Float = 1e-12) throws(TensorError) -> Tensor {
    if x.dtype == .float16 || x.dtype == .bfloat16 {
        return try l2Normalize(ReducedPrecision.widened(x), axis: axis, epsilon: epsilon).cast(to: x.dtype)
    }
    guard x.rank > 0 else {
        throw .invalidShape(op: "l2Normalize", shape: x.shape, reason: "needs at least one axis")
    }
    guard epsilon >= 0, epsilon.isFinite else {
        throw .invalidArgument(op: "l2Normalize", reason: "epsilon must be finite and >= 0, got \(epsilon)")
    }
    // max(||x||, eps) as sqrt(max(||x||^2, eps^2)): the same value, and a zero vector's
    // gradient stays finite (the square root never sees 0).
    let squaredNorm = try (x * x).sum(axis: axis, keepDims: true)
    return try x / maximum(squaredNorm, Tensor(scalar: epsilon * epsilon, on: x.device)).sqrt()
}
