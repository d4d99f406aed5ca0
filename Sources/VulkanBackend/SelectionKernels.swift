import TensorCore

/// The selection ops on Vulkan: ternary select, the axis extreme with its index, top-k and dropout.
extension VulkanDevice {
    /// `output[i] = condition[cl(i)] != 0 ? a[al(i)] : b[bl(i)]` (Shaders/select.comp; the rules
    /// of ``BackendOp/select(condition:conditionLayout:a:aLayout:b:bLayout:output:)``), layouts of
    /// rank <= ``SelectLimits/maxRank`` after coalescing.
    ///
    /// ```swift
    /// try gpu.select(mask, .contiguous([4]), x, .contiguous([4]), y, .contiguous([4]), into: out)
    /// ```
    public func select(_ condition: any BackendBuffer, _ conditionLayout: StridedLayout, _ a: any BackendBuffer,
                       _ aLayout: StridedLayout, _ b: any BackendBuffer, _ bLayout: StridedLayout,
                       into output: any BackendBuffer) throws(TensorError) {
        let op = "select"
        let c = try buffer(condition, op), left = try buffer(a, op), right = try buffer(b, op)
        let out = try buffer(output, op)
        guard conditionLayout.shape == aLayout.shape, aLayout.shape == bLayout.shape else {
            throw .shapeMismatch(op: op, lhs: aLayout.shape, rhs: bLayout.shape,
                                 reason: "layouts differ in shape (condition \(conditionLayout.shape))")
        }
        let shape = aLayout.shape
        let count = ShapeMath.elementCount(shape)
        guard count > 0 else { return }
        guard count <= out.elementCount else {
            throw .invalidArgument(op: op, reason: "output holds \(out.elementCount) elements, \(count) needed")
        }
        let merged = StridedLayout.coalesce(
            shape: shape,
            strideSets: [conditionLayout.strides, aLayout.strides, bLayout.strides, ShapeMath.contiguousStrides(shape)])
        let rank = merged.shape.count
        guard rank <= SelectLimits.maxRank else {
            throw .invalidArgument(op: op, reason: "layout of rank \(rank) after merging; at most \(SelectLimits.maxRank)")
        }
        var push = PushConstants()
        push.append(count)
        push.append(rank)
        push.append(conditionLayout.offset)
        push.append(aLayout.offset)
        push.append(bLayout.offset)
        for axis in 0..<SelectLimits.maxRank { push.append(axis < rank ? merged.shape[axis] : 1) }
        for set in 0..<3 {
            for axis in 0..<SelectLimits.maxRank { push.append(axis < rank ? merged.strides[set][axis] : 0) }
        }
        try dispatch(.select, buffers: [(c, .read), (left, .read), (right, .read), (out, .write)], push: push,
                     groups: elementwiseGroups(count))
    }

    /// The max or min along the middle axis of [outer, axis, inner] with its int32 index
    /// (Shaders/reduce_index.comp; the rules of ``BackendOp/reduceIndex(_:input:layout:values:indices:)``).
    ///
    /// ```swift
    /// try gpu.reduceIndex(.max, x, layout: .contiguous([1, 5, 3]), values: v, indices: i)
    /// ```
    public func reduceIndex(_ kind: ReduceIndexOp, _ input: any BackendBuffer, layout: StridedLayout,
                            values: any BackendBuffer, indices: any BackendBuffer) throws(TensorError) {
        let op = "reduceIndex(\(kind))"
        let source = try buffer(input, op), target = try buffer(values, op), positions = try buffer(indices, op)
        guard layout.shape.count == 3 else {
            throw .invalidArgument(op: op, reason: "layout \(layout.shape) is not [outer, axis, inner]")
        }
        let (outer, axis, inner) = (layout.shape[0], layout.shape[1], layout.shape[2])
        let outputs = outer * inner
        guard outputs > 0 else { return }
        guard axis > 0 else { throw .invalidArgument(op: op, reason: "the reduced axis is empty") }
        guard outputs <= target.elementCount, outputs <= positions.elementCount else {
            throw .invalidArgument(op: op, reason: "\(outputs) outputs do not fit the buffers")
        }
        var push = PushConstants()
        push.append(outputs)
        push.append(axis)
        push.append(inner)
        push.append(layout.offset)
        for stride in layout.strides { push.append(stride) }
        try dispatch(.reduceIndex, constants: SpecConstants([0: kind == .min ? 1 : 0]),
                     buffers: [(source, .read), (target, .write), (positions, .write)], push: push,
                     groups: elementwiseGroups(outputs))
    }

    /// The `k` best of each row with their int32 indices, best first (Shaders/topk.comp; the
    /// rules of ``BackendOp/topK(input:rows:columns:k:largest:values:indices:)``): one
    /// invocation per row, O(k * columns) each, meant for small k.
    ///
    /// ```swift
    /// try gpu.topK(x, rows: 2, columns: 10, k: 3, largest: true, values: v, indices: i)
    /// ```
    public func topK(_ input: any BackendBuffer, rows: Int, columns: Int, k: Int, largest: Bool,
                     values: any BackendBuffer, indices: any BackendBuffer) throws(TensorError) {
        let op = "topK"
        let source = try buffer(input, op), target = try buffer(values, op), positions = try buffer(indices, op)
        guard k >= 0, k <= columns, rows >= 0 else {
            throw .invalidArgument(op: op, reason: "k \(k) outside 0...\(columns) (rows \(rows))")
        }
        guard rows * k > 0 else { return }
        guard rows * columns <= source.elementCount, rows * k <= target.elementCount, rows * k <= positions.elementCount else {
            throw .invalidArgument(op: op, reason: "[\(rows), \(columns)] top \(k) does not fit the buffers")
        }
        var push = PushConstants()
        push.append(rows)
        push.append(columns)
        push.append(k)
        push.append(largest ? 1 : 0)
        try dispatch(.topK, buffers: [(source, .read), (target, .write), (positions, .write)], push: push,
                     groups: elementwiseGroups(rows))
    }

    /// Inverted dropout with the Philox4x32-10 mask of (seed, offset + i) (Shaders/dropout.comp;
    /// the rules of ``BackendOp/dropout(input:count:probability:seed:offset:output:)``).
    ///
    /// ```swift
    /// try gpu.dropout(x, count: n, probability: 0.1, seed: 7, offset: 0, into: y)
    /// ```
    public func dropout(_ input: any BackendBuffer, count: Int, probability: Float, seed: UInt64, offset: UInt64,
                        into output: any BackendBuffer) throws(TensorError) {
        let op = "dropout"
        let source = try buffer(input, op), target = try buffer(output, op)
        guard probability >= 0, probability <= 1 else {
            throw .invalidArgument(op: op, reason: "probability \(probability) outside [0, 1]")
        }
        guard count > 0 else { return }
        guard count <= source.elementCount, count <= target.elementCount else {
            throw .invalidArgument(op: op, reason: "\(count) elements do not fit the buffers")
        }
        var push = PushConstants()
        push.append(count)
        push.append(UInt32(truncatingIfNeeded: offset))
        push.append(UInt32(truncatingIfNeeded: offset >> 32))
        push.append(UInt32(truncatingIfNeeded: seed))
        push.append(UInt32(truncatingIfNeeded: seed >> 32))
        push.append(probability)
        push.append(1 / (1 - probability))   // rounded once here, so every backend scales alike
        try dispatch(.dropout, buffers: [(source, .read), (target, .write)], push: push, groups: elementwiseGroups(count))
    }
}
