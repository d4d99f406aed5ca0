import TensorCore

/// Elementwise `a op b` with NumPy broadcasting.
///
/// ```swift
/// let x = try Tensor.ones([4, 3], on: .cpu)
/// let b = try Tensor([1, 2, 3], shape: [3], on: .cpu)
/// let y = try elementwise(.add, x, b)   // also x + b
/// ```
public func elementwise(_ op: BinaryOp, _ a: Tensor, _ b: Tensor) throws(TensorError) -> Tensor {
    let name = op.description
    try OpSupport.sameDevice(name, a, b)
    try OpSupport.floats(name, a, b)
    let shape = try ShapeMath.broadcast(a.shape, b.shape, op: name)
    let out = try OpSupport.output(shape, on: a.device)
    guard out.elementCount > 0 else { return out }
    let aStrides = broadcastStrides(a, to: shape)
    let bStrides = broadcastStrides(b, to: shape)
    let merged = StridedLayout.coalesce(shape: shape, strideSets: [aStrides, bStrides])
    try a.device.backend.binary(
        op,
        a.storage, StridedLayout(shape: merged.shape, strides: merged.strides[0], offset: a.offset),
        b.storage, StridedLayout(shape: merged.shape, strides: merged.strides[1], offset: b.offset),
        into: out.storage)
    return out
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

/// `a * scale + offset` elementwise, in one pass.
public func scaleShift(_ a: Tensor, scale: Float, offset: Float = 0) throws(TensorError) -> Tensor {
    try OpSupport.floats("scaleShift", a)
    let source = try a.contiguous()
    let out = try OpSupport.output(a.shape, on: a.device)
    if out.elementCount > 0 {
        try a.device.backend.scaleShift(source.storage, scale: scale, offset: offset,
                                        count: out.elementCount, into: out.storage)
    }
    return out
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
