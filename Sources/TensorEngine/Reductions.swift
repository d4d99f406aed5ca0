import TensorCore

extension Tensor {
    /// The sum over `axis` (negative counts from the end); `keepDims` leaves a 1 in its place.
    ///
    /// ```swift
    /// let rows = try x.sum(axis: 1)        // [m, n] -> [m]
    /// ```
    public func sum(axis: Int, keepDims: Bool = false) throws(TensorError) -> Tensor {
        try reduce("sum", axis: axis, keepDims: keepDims, mean: false)
    }

    /// The mean over `axis`. The mean over an empty axis is NaN, as in NumPy.
    public func mean(axis: Int, keepDims: Bool = false) throws(TensorError) -> Tensor {
        try reduce("mean", axis: axis, keepDims: keepDims, mean: true)
    }

    /// The sum of all elements, as a rank-0 tensor.
    public func sum() throws(TensorError) -> Tensor {
        try reshaped([elementCount]).sum(axis: 0)
    }

    /// The mean of all elements, as a rank-0 tensor.
    public func mean() throws(TensorError) -> Tensor {
        try reshaped([elementCount]).mean(axis: 0)
    }

    /// A view of this tensor broadcast to `shape` (stride 0 along expanded axes; no copy).
    public func expanded(to shape: [Int]) throws(TensorError) -> Tensor {
        try ShapeMath.validate(shape, op: "expand")  // negative or overflowing extents throw, not trap
        let target = try ShapeMath.broadcast(self.shape, shape, op: "expand")
        guard target == shape else {
            throw .shapeMismatch(op: "expand", lhs: self.shape, rhs: shape, reason: "cannot expand")
        }
        let view = Tensor(storage: storage, shape: shape, strides: broadcastStrides(self, to: shape), offset: offset,
                          dtype: dtype, device: device)
        let original = self.shape
        return Autograd.record("expand", view, inputs: [self]) { (g) throws(TensorError) in [try Autograd.reduce(g, to: original)] }
    }

    /// float16 and bfloat16 tensors are summed in float32 and the result rounded once to
    /// their type (as `torch.sum` on a half tensor); with gradients, the float32 sum between casts.
    private func reduce(_ op: String, axis: Int, keepDims: Bool, mean: Bool) throws(TensorError) -> Tensor {
        try ReducedPrecision.requireFloatingPoint(op, self)
        guard rank > 0 else { throw .invalidArgument(op: op, reason: "a rank-0 tensor has no axis \(axis)") }
        let resolved = try ShapeMath.normalizeAxis(axis, rank: rank, op: op)
        if dtype != .float32 && (ReducedPrecision.recordsGradient([self]) || shape[resolved] == 0) {
            // An empty axis: the float32 fill (0, or NaN for the mean), rounded.
            return try ReducedPrecision.widened(self).reduce(op, axis: resolved, keepDims: keepDims, mean: mean)
                .cast(to: dtype)
        }
        // The view itself when the axes before and after `axis` each walk with one stride
        // (a transposed matrix, a permuted or sliced tensor); otherwise a contiguous copy.
        let (source, layout) = try reductionLayout(axis: resolved)
        let length = shape[resolved]
        var outShape = shape
        if keepDims { outShape[resolved] = 1 } else { outShape.remove(at: resolved) }
        let out = try ReducedPrecision.output(outShape, dtype: dtype, on: device)
        guard out.elementCount > 0 else { return out }
        let scale: Float = mean ? (length == 0 ? .nan : 1 / Float(length)) : 1
        if length == 0 {
            try device.backend.run(.fill(out.storage, value: mean ? .nan : 0, count: out.elementCount))
        } else {
            try device.backend.run(.reduceSum(input: source.storage, layout: layout, scale: scale, output: out.storage,
                                              types: OperandTypes(a: dtype, c: dtype)))
        }
        let inputShape = shape
        var keptShape = shape
        keptShape[resolved] = 1
        let kept = keptShape
        return Autograd.record(op, out, inputs: [self]) { (g) throws(TensorError) in
            // Each input element receives the gradient of its reduced output (times 1/n for the mean).
            let expanded = try g.reshaped(kept).expanded(to: inputShape)
            return [mean ? try scaleShift(expanded, scale: scale) : expanded]
        }
    }

    /// This tensor (or, when its view cannot be, a contiguous copy) as [outer, axis, inner]
    /// around `axis`, with the strides that read it in place.
    func reductionLayout(axis: Int) throws(TensorError) -> (Tensor, StridedLayout) {
        func single(_ axes: Range<Int>, _ source: Tensor) -> (extent: Int, stride: Int)? {
            let merged = StridedLayout.coalesce(shape: Array(source.shape[axes]), strideSets: [Array(source.strides[axes])])
            switch merged.shape.count {
            case 0: return (1, 0)
            case 1: return (merged.shape[0], merged.strides[0][0])
            default: return nil
            }
        }
        for source in [self, try contiguous()] {
            if let outer = single(0..<axis, source), let inner = single((axis + 1)..<rank, source),
               source.strides[axis] >= 0, outer.stride >= 0, inner.stride >= 0 {
                return (source, StridedLayout(shape: [outer.extent, shape[axis], inner.extent],
                                              strides: [outer.stride, source.strides[axis], inner.stride],
                                              offset: source.offset))
            }
        }
        throw .invalidArgument(op: "reduce", reason: "no [outer, axis, inner] layout for \(shape)")   // unreachable: a copy always has one
    }
}
