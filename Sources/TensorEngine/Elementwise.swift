import TensorCore

/// Elementwise `a op b` with NumPy broadcasting.
///
/// ```swift
/// let x = try Tensor.ones([4, 3], on: .cpu)
/// let b = try Tensor([1, 2, 3], shape: [3], on: .cpu)
/// let y = try elementwise(.add, x, b)   // also x + b
/// ```
///
/// float16 and bfloat16 operands are read as stored and computed in float32; the result has
/// their type when both agree, float32 otherwise (rounded once, to nearest even). A
/// comparison's 0/1 mask is float32 whatever the operands.
///
/// ```swift
/// let h = try elementwise(.mul, x.cast(to: .float16), x.cast(to: .float16))   // float16
/// ```
public func elementwise(_ op: BinaryOp, _ a: Tensor, _ b: Tensor) throws(TensorError) -> Tensor {
    let name = op.description
    try OpSupport.sameDevice(name, a, b)
    try ReducedPrecision.requireFloatingPoint(name, a, b)
    let resultType = op.isComparison ? .float32 : ReducedPrecision.resultType(a.dtype, b.dtype)
    if ReducedPrecision.recordsGradient([a, b]) {
        return try elementwise(op, ReducedPrecision.widened(a), ReducedPrecision.widened(b)).cast(to: resultType)
    }
    let shape = try ShapeMath.broadcast(a.shape, b.shape, op: name)
    let buffer = try a.device.backend.makeBuffer(count: ShapeMath.elementCount(shape), dtype: resultType)
    let out = Tensor(storage: buffer, shape: shape, dtype: resultType, device: a.device)
    guard out.elementCount > 0 else { return out }
    let aStrides = broadcastStrides(a, to: shape)
    let bStrides = broadcastStrides(b, to: shape)
    let merged = StridedLayout.coalesce(shape: shape, strideSets: [aStrides, bStrides])
    try a.device.backend.run(.binary(
        op,
        a: a.storage, aLayout: StridedLayout(shape: merged.shape, strides: merged.strides[0], offset: a.offset),
        b: b.storage, bLayout: StridedLayout(shape: merged.shape, strides: merged.strides[1], offset: b.offset),
        output: out.storage, types: OperandTypes(a: a.dtype, b: b.dtype, c: resultType)))
    return op.isComparison ? out : recordBinary(op, a, b, out)   // a mask has no gradient
}

/// The backward of `a op b`: each gradient reduced over the axes its operand was broadcast along.
///
/// The closure captures only what `retained` reports (detached) and plain values: a capture of
/// `a` or `b` themselves would keep an addition's operands alive until backward.
private func recordBinary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor, _ out: Tensor) -> Tensor {
    let keepsA = op == .mul || op == .maximum || op == .minimum
    let keepsB = keepsA || op == .div
    let keptA = keepsA ? a.detached() : nil, keptB = keepsB ? b.detached() : nil
    let keptOut = op == .div ? out.detached() : nil
    let retained = [keptA, keptB, keptOut].compactMap { $0.map { RetainedStorage($0) } }
    let (needA, needB, shapeA, shapeB) = (a.requiresGrad, b.requiresGrad, a.shape, b.shape)
    return Autograd.record(op.description, out, inputs: [a, b], retained: retained) { (g) throws(TensorError) in
        let ga: Tensor?, gb: Tensor?
        switch (op, keptA, keptB, keptOut) {
        case (.add, _, _, _):
            ga = g
            gb = g
        case (.sub, _, _, _):
            ga = g
            gb = needB ? try -g : nil
        case let (.mul, a?, b?, _):
            ga = needA ? try g * b : nil
            gb = needB ? try g * a : nil
        case let (.div, _, b?, out?):
            // d(a/b)/da = 1/b; d(a/b)/db = -(a/b)/b.
            ga = needA ? try g / b : nil
            gb = needB ? try -(g * out / b) : nil
        case let (.maximum, a?, b?, _), let (.minimum, a?, b?, _):
            // The larger (smaller) operand takes the gradient; a tie splits it in half, as in PyTorch.
            let share = try selectionShare(op, a, b)
            ga = needA ? try g * share : nil
            gb = needB ? try g * scaleShift(share, scale: -1, offset: 1) : nil
        default:
            (ga, gb) = (nil, nil)   // comparisons are never recorded: elementwise returns them unrecorded
        }
        return [try ga.map { (t) throws(TensorError) in try Autograd.reduce(t, to: shapeA) },
                try gb.map { (t) throws(TensorError) in try Autograd.reduce(t, to: shapeB) }]
    }
}

/// For `maximum` (`minimum`): 1 where a is the larger (smaller) operand, 0 where b is, 0.5 on
/// a tie. sign(a - b) is a - b scaled by 2^149 (any nonzero float difference reaches at least
/// 1 in magnitude, an infinite one stays finite after the clamp) and clamped to [-1, 1].
private func selectionShare(_ op: BinaryOp, _ a: Tensor, _ b: Tensor) throws(TensorError) -> Tensor {
    let difference = op == .maximum ? try a - b : try b - a
    let scaled = try scaleShift(scaleShift(difference, scale: 0x1p75), scale: 0x1p74)
    let one = try Tensor(scalar: 1, on: a.device), minusOne = try Tensor(scalar: -1, on: a.device)
    let sign = try minimum(maximum(scaled, minusOne), one)
    return try scaleShift(sign, scale: 0.5, offset: 0.5)
}

/// Elementwise maximum with NumPy broadcasting; NaN in either operand gives NaN, and a tie
/// splits the gradient in half between the operands (as `torch.maximum`).
///
/// ```swift
/// let a = try Tensor([1, 5, -2], shape: [3], on: .cpu)
/// let b = try Tensor([3, 4, -2], shape: [3], on: .cpu)
/// let m = try maximum(a, b)          // [3, 5, -2]
/// let r = try maximum(a, Tensor(scalar: 0, on: .cpu))   // relu: [1, 5, 0]
/// ```
public func maximum(_ a: Tensor, _ b: Tensor) throws(TensorError) -> Tensor {
    try elementwise(.maximum, a, b)
}

/// Elementwise minimum with NumPy broadcasting; NaN in either operand gives NaN, and a tie
/// splits the gradient in half between the operands (as `torch.minimum`).
///
/// ```swift
/// let m = try minimum(a, b)          // [1, 4, -2]
/// ```
public func minimum(_ a: Tensor, _ b: Tensor) throws(TensorError) -> Tensor {
    try elementwise(.minimum, a, b)
}

/// The strides that read `tensor` as if expanded to `shape` (0 on broadcast axes).
func broadcastStrides(_ tensor: Tensor, to shape: [Int]) -> [Int] {
    let lead = shape.count - tensor.rank
    return (0..<shape.count).map { axis in
        guard axis >= lead else { return 0 }
        let own = axis - lead
        return tensor.shape[own] == 1 && shape[axis] != 1 ? 0 : tensor.strides[own]
    }
}

/// `a * scale + offset` elementwise, in one pass (also `a * 2`, `a + 1`, `-a`, ...).
///
/// A float16 or bfloat16 input is read as stored, computed in float32, and the result stored
/// in the input's type (rounded once, to nearest even), as PyTorch's `x * 2.0` on a half tensor.
///
/// ```swift
/// let y = try scaleShift(x, scale: 2, offset: 1)     // 2x + 1
/// let h = try x.cast(to: .float16) * 0.5             // float16
/// ```
public func scaleShift(_ a: Tensor, scale: Float, offset: Float = 0) throws(TensorError) -> Tensor {
    try ReducedPrecision.requireFloatingPoint("scaleShift", a)
    if ReducedPrecision.recordsGradient([a]) {
        return try scaleShift(ReducedPrecision.widened(a), scale: scale, offset: offset).cast(to: a.dtype)
    }
    let out = try ReducedPrecision.output(a.shape, dtype: a.dtype, on: a.device)
    if out.elementCount > 0 {
        // The view itself: a transposed or broadcast input is read in place, not copied first.
        try a.device.backend.run(.scaleShift(input: a.storage, layout: a.layout, scale: scale, offset: offset,
                                             output: out.storage, types: OperandTypes(a: a.dtype, c: a.dtype)))
    }
    return Autograd.record("scaleShift", out, inputs: [a]) { (g) throws(TensorError) in [try scaleShift(g, scale: scale)] }
}

extension Tensor {
    public static func + (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor { try elementwise(.add, lhs, rhs) }
    public static func - (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor { try elementwise(.sub, lhs, rhs) }
    public static func * (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor { try elementwise(.mul, lhs, rhs) }
    public static func / (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor { try elementwise(.div, lhs, rhs) }

    public static func + (lhs: Tensor, rhs: Float) throws(TensorError) -> Tensor { try scaleShift(lhs, scale: 1, offset: rhs) }
    public static func - (lhs: Tensor, rhs: Float) throws(TensorError) -> Tensor { try scaleShift(lhs, scale: 1, offset: -rhs) }
    public static func * (lhs: Tensor, rhs: Float) throws(TensorError) -> Tensor { try scaleShift(lhs, scale: rhs) }
    public static func / (lhs: Tensor, rhs: Float) throws(TensorError) -> Tensor { try scaleShift(lhs, scale: 1 / rhs) }
    public static func * (lhs: Float, rhs: Tensor) throws(TensorError) -> Tensor { try scaleShift(rhs, scale: lhs) }
    public static prefix func - (operand: Tensor) throws(TensorError) -> Tensor { try scaleShift(operand, scale: -1) }
}

/// `op(x)` elementwise for exp, log, sqrt and abs, differentiable.
///
/// ```swift
/// let y = try unary(.exp, x)     // also x.exp()
/// ```
///
/// A float16 or bfloat16 input is read as stored, computed in float32, and the result stored
/// in the input's type (rounded once, to nearest even).
///
/// ```swift
/// let r = try x.cast(to: .bfloat16).sqrt()         // bfloat16
/// ```
public func unary(_ op: UnaryOp, _ x: Tensor) throws(TensorError) -> Tensor {
    try ReducedPrecision.requireFloatingPoint(op.description, x)
    if ReducedPrecision.recordsGradient([x]) {
        return try unary(op, ReducedPrecision.widened(x)).cast(to: x.dtype)
    }
    let out = try ReducedPrecision.output(x.shape, dtype: x.dtype, on: x.device)
    if out.elementCount > 0 {
        // The view itself: a transposed or broadcast input is read in place, not copied first.
        try x.device.backend.run(.unary(op, input: x.storage, layout: x.layout, output: out.storage,
                                        types: OperandTypes(a: x.dtype, c: x.dtype)))
    }
    // Each derivative keeps only what it reads (exp and sqrt their output, log its input, abs both).
    let input = op == .log || op == .abs ? x.detached() : nil
    let result = op == .log ? nil : out
    let retained = [input, result].compactMap { $0.map { RetainedStorage($0) } }
    return Autograd.record(op.description, out, inputs: [x], retained: retained) { (g) throws(TensorError) in
        switch (op, input, result) {
        case let (.exp, _, result?): return [try g * result]
        case let (.log, input?, _): return [try g / input]
        case let (.sqrt, _, result?): return [try g / (result * 2)]
        case let (.abs, input?, result?):
            // sign(x) = x / |x| where x != 0, and 0 at 0.
            let sign = try input / (result + Float.leastNormalMagnitude)
            return [try g * sign]
        default: return [nil]   // unreachable: each case keeps what it reads
        }
    }
}

extension Tensor {
    /// e^x elementwise.
    public func exp() throws(TensorError) -> Tensor { try unary(.exp, self) }
    /// Natural logarithm elementwise.
    public func log() throws(TensorError) -> Tensor { try unary(.log, self) }
    /// Square root elementwise.
    public func sqrt() throws(TensorError) -> Tensor { try unary(.sqrt, self) }
    /// |x| elementwise.
    public func abs() throws(TensorError) -> Tensor { try unary(.abs, self) }
}
