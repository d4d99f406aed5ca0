import TensorCore

extension VulkanDevice {
    /// `out[i] = a[aLayout(i)] op b[bLayout(i)]` with broadcasting (Shaders/binary.comp).
    ///
    /// The two layouts and the output's contiguous strides are coalesced jointly; the
    /// operation is a specialisation constant, so each op has its own pipeline.
    public func binary(_ op: BinaryOp, _ a: any BackendBuffer, _ aLayout: StridedLayout,
                       _ b: any BackendBuffer, _ bLayout: StridedLayout,
                       into out: any BackendBuffer) throws(TensorError) {
        let left = try buffer(a, "binary")
        let right = try buffer(b, "binary")
        let output = try buffer(out, "binary")
        let shape = aLayout.shape
        let count = ShapeMath.elementCount(shape)
        guard count > 0 else { return }
        let merged = StridedLayout.coalesce(
            shape: shape, strideSets: [aLayout.strides, bLayout.strides, ShapeMath.contiguousStrides(shape)])
        guard merged.shape.count <= StridedLayout.maxRank else {
            throw .invalidArgument(op: "binary",
                                   reason: "layout of rank \(merged.shape.count) after merging; at most \(StridedLayout.maxRank)")
        }
        let rank = merged.shape.count
        var push = PushConstants()
        push.append(count)
        push.append(rank)
        push.append(aLayout.offset)
        push.append(bLayout.offset)
        for axis in 0..<StridedLayout.maxRank { push.append(axis < rank ? merged.shape[axis] : 1) }
        for axis in 0..<StridedLayout.maxRank { push.append(axis < rank ? merged.strides[0][axis] : 0) }
        for axis in 0..<StridedLayout.maxRank { push.append(axis < rank ? merged.strides[1][axis] : 0) }
        try dispatch(.binary, constants: SpecConstants([0: UInt32(bitPattern: op.kernelCode)]),
                     buffers: [(left, .read), (right, .read), (output, .write)], push: push,
                     groups: elementwiseGroups(count))
    }
}
