import TensorCore

extension Tensor {
    /// The elements `range` (every `step`-th from its start) along `axis`, as a view: no
    /// copy, the result shares this tensor's storage (as ``permuted(_:)`` does).
    ///
    /// `axis` may be negative (counting from the end); `range` lies within `0...shape[axis]`
    /// (an empty range gives an extent of 0); `step` is at least 1, and the result's extent is
    /// `ceil(range.count / step)`, as `x[..., start:end:step]` in NumPy. The gradient is the
    /// output's gradient written into zeros of this tensor's shape.
    ///
    /// ```swift
    /// let x = try Tensor([0, 1, 2, 3, 4, 5], shape: [2, 3], on: .cpu)
    /// let tail = try x.slice(axis: -1, range: 1..<3)          // [[1, 2], [4, 5]]
    /// let even = try x.slice(axis: 1, range: 0..<3, step: 2)  // [[0, 2], [3, 5]]
    /// ```
    public func slice(axis: Int, range: Range<Int>, step: Int = 1) throws(TensorError) -> Tensor {
        let op = "slice"
        let resolved = try ShapeMath.normalizeAxis(axis, rank: rank, op: op)
        guard rank > 0 else {
            throw .invalidShape(op: op, shape: shape, reason: "a rank-0 tensor has no axis to slice")
        }
        guard range.lowerBound >= 0, range.upperBound <= shape[resolved] else {
            throw .invalidArgument(op: op, reason: "range \(range) is outside 0..<\(shape[resolved]) of axis \(resolved) "
                                   + "of shape \(shape)")
        }
        guard step >= 1 else {
            throw .invalidArgument(op: op, reason: "step \(step) must be at least 1")
        }
        var viewShape = shape, viewStrides = strides
        viewShape[resolved] = (range.count + step - 1) / step
        viewStrides[resolved] *= step
        var positions = StridedLayout.contiguous(shape)
        positions.shape[resolved] = viewShape[resolved]
        positions.offset = range.lowerBound * positions.strides[resolved]
        positions.strides[resolved] *= step
        return view(op, shape: viewShape, strides: viewStrides, offset: offset + range.lowerBound * strides[resolved],
                    positions: positions)
    }

    /// The elements at `index` along `axis`, that axis removed, as a view (`torch.select`,
    /// NumPy's `x[..., index, ...]`). Negative `axis` and `index` count from the end. The
    /// gradient is the output's gradient written into zeros of this tensor's shape.
    ///
    /// ```swift
    /// let x = try Tensor([0, 1, 2, 3, 4, 5], shape: [2, 3], on: .cpu)
    /// let column = try x.select(axis: 1, index: -1)   // [2, 5]
    /// ```
    public func select(axis: Int, index: Int) throws(TensorError) -> Tensor {
        let op = "select"
        guard rank > 0 else {
            throw .invalidShape(op: op, shape: shape, reason: "a rank-0 tensor has no axis to select from")
        }
        let resolved = try ShapeMath.normalizeAxis(axis, rank: rank, op: op)
        let at = index < 0 ? index + shape[resolved] : index
        guard at >= 0, at < shape[resolved] else {
            throw .invalidArgument(op: op, reason: "index \(index) is out of range for axis \(resolved) of shape \(shape)")
        }
        var viewShape = shape, viewStrides = strides
        viewShape.remove(at: resolved)
        let stride = viewStrides.remove(at: resolved)
        var positionStrides = ShapeMath.contiguousStrides(shape)
        let positionStride = positionStrides.remove(at: resolved)
        return view(op, shape: viewShape, strides: viewStrides, offset: offset + at * stride,
                    positions: StridedLayout(shape: viewShape, strides: positionStrides, offset: at * positionStride))
    }

    /// A view into this tensor's storage whose element i is this tensor's row-major element
    /// `positions(i)`; its gradient scatters into zeros of this shape at `positions`.
    private func view(_ op: String, shape viewShape: [Int], strides viewStrides: [Int], offset viewOffset: Int,
                      positions: StridedLayout) -> Tensor {
        let result = Tensor(storage: storage, shape: viewShape, strides: viewStrides, offset: viewOffset, dtype: dtype,
                            device: device)
        let originalShape = shape
        return Autograd.record(op, result, inputs: [self]) { (gradient) throws(TensorError) in
            [try ShapeKernels.scatter(gradient, into: originalShape, layout: positions)]
        }
    }
}

/// `x` cut along `axis` into consecutive views of the given extents (`torch.split` with a
/// list of sizes): the sizes are non-negative and sum to `x.shape[axis]`. Each piece is a
/// view, as from ``Tensor/slice(axis:range:step:)``.
///
/// ```swift
/// let x = try Tensor([0, 1, 2, 3, 4], shape: [5], on: .cpu)
/// let pieces = try split(x, sizes: [2, 0, 3], axis: 0)   // [0, 1], [], [2, 3, 4]
/// ```
public func split(_ x: Tensor, sizes: [Int], axis: Int) throws(TensorError) -> [Tensor] {
    let op = "split"
    guard x.rank > 0 else {
        throw .invalidShape(op: op, shape: x.shape, reason: "a rank-0 tensor has no axis to split")
    }
    let resolved = try ShapeMath.normalizeAxis(axis, rank: x.rank, op: op)
    guard sizes.allSatisfy({ $0 >= 0 }), sizes.reduce(0, +) == x.shape[resolved] else {
        throw .invalidArgument(op: op, reason: "sizes \(sizes) do not sum to extent \(x.shape[resolved]) of axis "
                               + "\(resolved) of shape \(x.shape) (or one is negative)")
    }
    var pieces: [Tensor] = []
    var start = 0
    for size in sizes {
        pieces.append(try x.slice(axis: resolved, range: start..<start + size))
        start += size
    }
    return pieces
}

/// `x` cut along `axis` into views of `size` elements each, the last one shorter when
/// `size` does not divide the extent (`torch.split` with an integer size): `ceil(extent /
/// size)` pieces, and one empty piece for an extent of 0. `size` is at least 1.
///
/// ```swift
/// let x = try Tensor([0, 1, 2, 3, 4], shape: [5], on: .cpu)
/// let pieces = try split(x, size: 2, axis: 0)   // [0, 1], [2, 3], [4]
/// ```
public func split(_ x: Tensor, size: Int, axis: Int) throws(TensorError) -> [Tensor] {
    let op = "split"
    guard size >= 1 else {
        throw .invalidArgument(op: op, reason: "size \(size) must be at least 1")
    }
    guard x.rank > 0 else {
        throw .invalidShape(op: op, shape: x.shape, reason: "a rank-0 tensor has no axis to split")
    }
    let extent = x.shape[try ShapeMath.normalizeAxis(axis, rank: x.rank, op: op)]
    let count = max((extent + size - 1) / size, 1)
    return try split(x, sizes: (0..<count).map { min(size, extent - $0 * size) }, axis: axis)
}

/// `x` cut along `axis` into at most `parts` views of equal extent `ceil(extent / parts)`,
/// the last one shorter (`torch.chunk`): fewer than `parts` pieces when the extent does not
/// allow `parts` non-empty ones (an extent of 5 in 4 parts gives 2, 2, 1), and `parts`
/// empty pieces for an extent of 0. `parts` is at least 1.
///
/// ```swift
/// let x = try Tensor([0, 1, 2, 3, 4, 5], shape: [2, 3], on: .cpu)
/// let halves = try chunk(x, parts: 2, axis: 1)   // [[0, 1], [3, 4]] and [[2], [5]]
/// ```
public func chunk(_ x: Tensor, parts: Int, axis: Int) throws(TensorError) -> [Tensor] {
    let op = "chunk"
    guard parts >= 1 else {
        throw .invalidArgument(op: op, reason: "parts \(parts) must be at least 1")
    }
    guard x.rank > 0 else {
        throw .invalidShape(op: op, shape: x.shape, reason: "a rank-0 tensor has no axis to chunk")
    }
    let extent = x.shape[try ShapeMath.normalizeAxis(axis, rank: x.rank, op: op)]
    if extent == 0 { return try split(x, sizes: [Int](repeating: 0, count: parts), axis: axis) }
    return try split(x, size: (extent + parts - 1) / parts, axis: axis)
}
