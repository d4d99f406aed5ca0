import TensorCore

/// `f(x)` elementwise for an ``Activation``.
///
/// ```swift
/// let y = try activate(x, .gelu)      // same as gelu(x)
/// ```
///
/// A float16 or bfloat16 input is read as stored, computed in float32, and the result stored
/// in the input's type (rounded once, to nearest even). Its gradient is computed the same
/// way from the 16-bit input the graph keeps (at its own size, not widened) and the 16-bit
/// output gradient.
///
/// ```swift
/// let h = try gelu(x.cast(to: .bfloat16))   // bfloat16
/// ```
public func activate(_ x: Tensor, _ activation: Activation) throws(TensorError) -> Tensor {
    try ReducedPrecision.requireFloatingPoint("activate", x)
    let out = try ReducedPrecision.output(x.shape, dtype: x.dtype, on: x.device)
    if out.elementCount > 0 {
        // The view itself: a transposed or broadcast input is read in place, not copied first.
        try x.device.backend.run(.activate(activation, input: x.storage, layout: x.layout, output: out.storage,
                                           types: OperandTypes(a: x.dtype, c: x.dtype)))
    }
    let saved = x.detached()
    let type = x.dtype
    return Autograd.record("activate \(activation)", out, inputs: [x], retained: [RetainedStorage(saved)]) { (g) throws(TensorError) in
        [try activationBackward(activation, input: saved, gradOutput: g).cast(to: type)]
    }
}

/// `gradOutput * f'(x)` elementwise: the backward of ``activate(_:_:)`` with the exact derivative.
///
/// ```swift
/// let dx = try activationBackward(.silu, input: x, gradOutput: dy)
/// ```
///
/// float16 and bfloat16 operands are read as stored and computed in float32; the result has
/// their type when both agree, float32 otherwise (rounded once, to nearest even).
public func activationBackward(_ activation: Activation, input x: Tensor, gradOutput: Tensor) throws(TensorError) -> Tensor {
    try OpSupport.sameDevice("activationBackward", x, gradOutput)
    try ReducedPrecision.requireFloatingPoint("activationBackward", x, gradOutput)
    guard x.shape == gradOutput.shape else {
        throw .shapeMismatch(op: "activationBackward", lhs: x.shape, rhs: gradOutput.shape,
                             reason: "input and gradient shapes differ")
    }
    let input = try x.contiguous()
    let grad = try gradOutput.contiguous()
    let resultType = ReducedPrecision.resultType(x.dtype, gradOutput.dtype)
    let out = try ReducedPrecision.output(x.shape, dtype: resultType, on: x.device)
    if out.elementCount > 0 {
        try x.device.backend.run(.activationBackward(activation, input: input.storage, gradOutput: grad.storage,
                                                     count: out.elementCount, gradInput: out.storage,
                                                     types: OperandTypes(a: x.dtype, b: gradOutput.dtype, c: resultType)))
    }
    return out
}

/// max(x, 0).
public func relu(_ x: Tensor) throws(TensorError) -> Tensor { try activate(x, .relu) }
/// x for x > 0, slope * x otherwise.
public func leakyReLU(_ x: Tensor, slope: Float = 0.01) throws(TensorError) -> Tensor { try activate(x, .leakyReLU(slope: slope)) }
/// Exact GELU, x * Phi(x).
public func gelu(_ x: Tensor) throws(TensorError) -> Tensor { try activate(x, .gelu) }
/// GELU's tanh approximation.
public func geluTanh(_ x: Tensor) throws(TensorError) -> Tensor { try activate(x, .geluTanh) }
/// x * sigmoid(x).
public func silu(_ x: Tensor) throws(TensorError) -> Tensor { try activate(x, .silu) }
/// x * tanh(softplus(x)).
public func mish(_ x: Tensor) throws(TensorError) -> Tensor { try activate(x, .mish) }
/// tanh(x).
public func tanh(_ x: Tensor) throws(TensorError) -> Tensor { try activate(x, .tanh) }
/// 1 / (1 + e^-x).
public func sigmoid(_ x: Tensor) throws(TensorError) -> Tensor { try activate(x, .sigmoid) }
/// log(1 + e^x).
public func softplus(_ x: Tensor) throws(TensorError) -> Tensor { try activate(x, .softplus) }
/// x for x > 0, alpha * (e^x - 1) otherwise.
public func elu(_ x: Tensor, alpha: Float = 1) throws(TensorError) -> Tensor { try activate(x, .elu(alpha: alpha)) }
