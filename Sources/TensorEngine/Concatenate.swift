import TensorCore

/// The tensors joined end to end along an existing axis (`torch.cat`).
///
/// Every tensor has the same rank and the same extents except along `axis` (negative counts
/// from the end), and all live on one device with one dtype (any dtype); extents of 0 are
/// allowed. Inputs may be any views (transposed, broadcast, sliced): each is copied once,
/// straight into its slab of the result. The gradient of each input is its slice of the
/// output's gradient.
///
/// ```swift
/// let x = try Tensor([1, 2, 3, 4], shape: [2, 2], on: .cpu)
/// let y = try Tensor([5, 6], shape: [2, 1], on: .cpu)
/// let c = try concatenate([x, y], axis: 1)   // [[1, 2, 5], [3, 4, 6]]
/// ```
public func concatenate(_ tensors: [Tensor], axis: Int) throws(TensorError) -> Tensor {
    let op = "concatenate"
    guard let first = tensors.first else {
        throw .invalidArgument(op: op, reason: "needs at least one tensor, got an empty list")
    }
    guard first.rank > 0 else {
        throw .invalidShape(op: op, shape: first.shape, reason: "a rank-0 tensor has no axis to concatenate along")
    }
    let resolved = try ShapeMath.normalizeAxis(axis, rank: first.rank, op: op)
    var extent = 0
    for (index, tensor) in tensors.enumerated() {
        try ShapeKernels.sameKind(op, first, tensor, index: index)
        var a = first.shape, b = tensor.shape
        if a.count == b.count { a[resolved] = 0; b[resolved] = 0 }
        guard a == b else {
            throw .shapeMismatch(op: op, lhs: first.shape, rhs: tensor.shape,
                                 reason: "tensor \(index) differs from tensor 0 outside axis \(resolved)")
        }
        extent += tensor.shape[resolved]
    }
    var shape = first.shape
    shape[resolved] = extent
    try ShapeMath.validate(shape, op: op)
    let result = try ShapeKernels.empty(shape, like: first)
    let strides = ShapeMath.contiguousStrides(shape)
    var starts: [Int] = []
    var start = 0
    for tensor in tensors {
        starts.append(start)
        try tensor.copy(into: result.storage,
                        layout: StridedLayout(shape: tensor.shape, strides: strides, offset: start * strides[resolved]))
        start += tensor.shape[resolved]
    }
    let slabs = zip(starts, tensors.map { $0.shape[resolved] }).map { ($0, $1) }
    return Autograd.record(op, result, inputs: tensors) { (gradient) throws(TensorError) in
        var parts: [Tensor?] = []
        for (start, length) in slabs {
            parts.append(try gradient.slice(axis: resolved, range: start..<start + length))
        }
        return parts
    }
}

/// The tensors joined along a new axis (`torch.stack`): all have one shape, device and dtype,
/// and the result has `axis` (in `-(rank + 1)...rank`, negative counting from the end of the
/// result's axes) inserted with extent `tensors.count`. Each input is copied once, straight
/// into place; its gradient is its index of the output's gradient along `axis`.
///
/// ```swift
/// let a = try Tensor([1, 2], shape: [2], on: .cpu)
/// let b = try Tensor([3, 4], shape: [2], on: .cpu)
/// let rows = try stack([a, b], axis: 0)      // [[1, 2], [3, 4]]
/// let columns = try stack([a, b], axis: -1)  // [[1, 3], [2, 4]]
/// ```
public func stack(_ tensors: [Tensor], axis: Int) throws(TensorError) -> Tensor {
    let op = "stack"
    guard let first = tensors.first else {
        throw .invalidArgument(op: op, reason: "needs at least one tensor, got an empty list")
    }
    let resolved = axis < 0 ? axis + first.rank + 1 : axis
    guard resolved >= 0, resolved <= first.rank else {
        throw .invalidArgument(op: op, reason: "axis \(axis) is out of range for stacking rank-\(first.rank) tensors "
                               + "(\(-(first.rank + 1))...\(first.rank))")
    }
    for (index, tensor) in tensors.enumerated() {
        try ShapeKernels.sameKind(op, first, tensor, index: index)
        guard tensor.shape == first.shape else {
            throw .shapeMismatch(op: op, lhs: first.shape, rhs: tensor.shape, reason: "tensor \(index) differs from tensor 0")
        }
    }
    var shape = first.shape
    shape.insert(tensors.count, at: resolved)
    try ShapeMath.validate(shape, op: op)
    let result = try ShapeKernels.empty(shape, like: first)
    var strides = ShapeMath.contiguousStrides(shape)
    let step = strides.remove(at: resolved)
    for (index, tensor) in tensors.enumerated() {
        try tensor.copy(into: result.storage, layout: StridedLayout(shape: first.shape, strides: strides, offset: index * step))
    }
    let count = tensors.count
    return Autograd.record(op, result, inputs: tensors) { (gradient) throws(TensorError) in
        var parts: [Tensor?] = []
        for index in 0..<count { parts.append(try gradient.select(axis: resolved, index: index)) }
        return parts
    }
}

/// Helpers of the shape ops.
enum ShapeKernels {
    /// Throws unless `tensor` (number `index` of the list) shares `first`'s device, dtype and rank.
    static func sameKind(_ op: String, _ first: Tensor, _ tensor: Tensor, index: Int) throws(TensorError) {
        try OpSupport.sameDevice(op, first, tensor)
        guard tensor.dtype == first.dtype else {
            throw .invalidArgument(op: op, reason: "tensor \(index) has dtype \(tensor.dtype), tensor 0 has \(first.dtype)")
        }
        guard tensor.rank == first.rank else {
            throw .shapeMismatch(op: op, lhs: first.shape, rhs: tensor.shape,
                                 reason: "tensor \(index) has rank \(tensor.rank), tensor 0 has rank \(first.rank)")
        }
    }

    /// A new contiguous tensor of `shape` with `like`'s dtype and device; its contents are unspecified.
    static func empty(_ shape: [Int], like tensor: Tensor) throws(TensorError) -> Tensor {
        let buffer = try tensor.device.backend.makeBuffer(count: ShapeMath.elementCount(shape), dtype: tensor.dtype)
        return Tensor(storage: buffer, shape: shape, dtype: tensor.dtype, device: tensor.device)
    }

    /// The gradient of a view: zeros of `shape` with `gradient` written where `layout`
    /// (row-major positions of the viewed tensor) puts the view's elements.
    static func scatter(_ gradient: Tensor, into shape: [Int], layout: StridedLayout) throws(TensorError) -> Tensor {
        let count = ShapeMath.elementCount(shape)
        // Whole 4-byte words, so that a fill of words zeroes a 1- or 2-byte dtype too.
        let words = (count * gradient.dtype.byteSize + 3) / 4
        let buffer = try gradient.device.backend.makeBuffer(elementCount: words)
        if words > 0 { try gradient.device.backend.run(.fill(buffer, value: 0, count: words)) }
        try gradient.copy(into: buffer, layout: layout)
        return Tensor(storage: buffer, shape: shape, dtype: gradient.dtype, device: gradient.device)
    }
}

extension Tensor {
    /// Writes this view's elements into `buffer` at `layout` (same shape), in this dtype.
    func copy(into buffer: any BackendBuffer, layout destination: StridedLayout) throws(TensorError) {
        guard elementCount > 0 else { return }
        try device.backend.run(.copyInto(source: storage, sourceLayout: layout, destination: buffer,
                                         destinationLayout: destination, dtype: dtype))
    }
}
