import TensorCore

/// Linear interpolation `start + weight * (end - start)` elementwise, with NumPy broadcasting
/// of all three (as `torch.lerp`). Computed in float32 in three rounded steps, so at
/// `weight == 1` the result may differ from `end` in the last bit.
///
/// No backend has a kernel for it: it runs as its composite (a subtraction, a product and a
/// sum), and its gradient is that composite's (docs/adding-an-op.md, step 6): `start` gets
/// `g * (1 - weight)`, `end` gets `g * weight` and `weight` gets `g * (end - start)`, each
/// summed over the axes it was broadcast along.
///
/// ```swift
/// let a = try Tensor([0, 10, 20], shape: [3], on: .cpu)
/// let b = try Tensor([1, 20, 40], shape: [3], on: .cpu)
/// let w = try Tensor([0.5, 0.25, 1], shape: [3], on: .cpu)
/// let mixed = try lerp(a, b, weight: w)              // [0.5, 12.5, 40]
/// let ema = try lerp(average, value, weight: 0.01)   // an exponential moving average step
/// ```
public func lerp(_ start: Tensor, _ end: Tensor, weight: Tensor) throws(TensorError) -> Tensor {
    let op = "lerp"
    try OpSupport.sameDevice(op, start, end)
    try OpSupport.sameDevice(op, start, weight)
    try OpSupport.floats(op, start, end, weight)
    let shape = try ShapeMath.broadcast(try ShapeMath.broadcast(start.shape, end.shape, op: op), weight.shape, op: op)
    return try CompositeGradient.run(op, inputs: [start, end, weight], shape: shape) { operands, output in
        // Axes that every operand walks alike are merged (as `elementwise` does).
        let merged = StridedLayout.coalesce(shape: shape, strideSets: operands.map { broadcastStrides($0, to: shape) })
        func layout(_ index: Int) -> StridedLayout {
            StridedLayout(shape: merged.shape, strides: merged.strides[index], offset: operands[index].offset)
        }
        return .lerp(start: operands[0].storage, startLayout: layout(0), end: operands[1].storage, endLayout: layout(1),
                     weight: operands[2].storage, weightLayout: layout(2), output: output.storage)
    }
}

/// ``lerp(_:_:weight:)`` with one weight for every element (`torch.lerp(start, end, 0.5)`).
///
/// ```swift
/// let midpoint = try lerp(a, b, weight: 0.5)
/// ```
public func lerp(_ start: Tensor, _ end: Tensor, weight: Float) throws(TensorError) -> Tensor {
    try lerp(start, end, weight: Tensor(scalar: weight, on: start.device))
}
