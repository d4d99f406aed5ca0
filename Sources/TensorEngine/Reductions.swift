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

    private func reduce(_ op: String, axis: Int, keepDims: Bool, mean: Bool) throws(TensorError) -> Tensor {
        try requireFloat(op)
        guard rank > 0 else { throw .invalidArgument(op: op, reason: "a rank-0 tensor has no axis \(axis)") }
        let resolved = try ShapeMath.normalizeAxis(axis, rank: rank, op: op)
        let source = try contiguous()
        let outer = shape[..<resolved].reduce(1, *)
        let length = shape[resolved]
        let inner = shape[(resolved + 1)...].reduce(1, *)
        var outShape = shape
        if keepDims { outShape[resolved] = 1 } else { outShape.remove(at: resolved) }
        let out = try OpSupport.output(outShape, on: device)
        guard out.elementCount > 0 else { return out }
        let scale: Float = mean ? (length == 0 ? .nan : 1 / Float(length)) : 1
        if length == 0 {
            try device.backend.run(.fill(out.storage, value: mean ? .nan : 0, count: out.elementCount))
        } else {
            try device.backend.run(.reduceSum(input: source.storage, outer: outer, axis: length, inner: inner,
                                              scale: scale, output: out.storage))
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
}
