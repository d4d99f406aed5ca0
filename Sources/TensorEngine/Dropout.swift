import TensorCore

/// Inverted dropout (as `torch.nn.functional.dropout`): in training each element is zeroed
/// with probability `probability` and the rest scaled by 1 / (1 - probability); otherwise (and
/// for probability 0) `x` itself. The mask is a pure function of `seed` and the element's
/// row-major index: element n is dropped when the Philox4x32-10 uniform of (seed, n)
/// (``Philox4x32/dropoutUniform(seed:index:)``) is below the probability, so every device
/// draws the same mask, and the backward regenerates it from the seed: nothing but the seed
/// is kept (``Tensor/retainedBytesByOp()`` reports no bytes for it). Use a new seed per step.
/// Throws for a probability outside [0, 1] (or NaN). A float16 / bfloat16 input is dropped
/// and scaled in float32 and the result rounded once to its type.
///
/// ```swift
/// let x = try Tensor.ones([4, 8], on: .cpu)
/// let y = try dropout(x, probability: 0.25, seed: 1234)   // each element 0 or 4/3
/// let same = try dropout(x, probability: 0.25, seed: 1234) // the same mask
/// ```
public func dropout(_ x: Tensor, probability: Float, seed: UInt64, training: Bool = true) throws(TensorError) -> Tensor {
    let op = "dropout"
    guard probability >= 0, probability <= 1 else {
        throw .invalidArgument(op: op, reason: "probability \(probability) outside [0, 1]")
    }
    try ReducedPrecision.requireFloatingPoint(op, x)
    guard training, probability > 0 else { return x }
    if x.dtype != .float32 {
        return try dropout(ReducedPrecision.widened(x), probability: probability, seed: seed).cast(to: x.dtype)
    }
    let source = try x.detached().contiguous()
    let out = try OpSupport.output(x.shape, on: x.device)
    if out.elementCount > 0 {
        try x.device.backend.run(.dropout(input: source.storage, count: out.elementCount, probability: probability,
                                          seed: seed, offset: 0, output: out.storage))
    }
    return Autograd.record(op, out, inputs: [x]) { (g) throws(TensorError) in
        // The same mask and scale, regenerated from the seed.
        [try dropout(g, probability: probability, seed: seed)]
    }
}
