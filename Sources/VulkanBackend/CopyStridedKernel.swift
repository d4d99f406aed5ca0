import TensorCore

extension VulkanDevice {
    /// Contiguous `destination[i] = source[layout(i)]` (Shaders/copy_strided.comp).
    ///
    /// The layout is coalesced together with the destination's contiguous strides, so a
    /// transposed or broadcast view usually reaches the kernel with rank 1 to 3.
    public func copyStrided(from source: any BackendBuffer, layout: StridedLayout,
                            to destination: any BackendBuffer) throws(TensorError) {
        let input = try buffer(source, "copyStrided")
        let output = try buffer(destination, "copyStrided")
        let count = layout.elementCount
        guard count > 0 else { return }
        let merged = StridedLayout.coalesce(shape: layout.shape,
                                            strideSets: [layout.strides, ShapeMath.contiguousStrides(layout.shape)])
        guard merged.shape.count <= StridedLayout.maxRank else {
            throw .invalidArgument(op: "copyStrided",
                                   reason: "layout of rank \(merged.shape.count) after merging; at most \(StridedLayout.maxRank)")
        }
        var push = PushConstants()
        push.append(count)
        push.append(merged.shape.count)
        push.append(layout.offset)
        for axis in 0..<StridedLayout.maxRank { push.append(axis < merged.shape.count ? merged.shape[axis] : 1) }
        for axis in 0..<StridedLayout.maxRank { push.append(axis < merged.shape.count ? merged.strides[0][axis] : 0) }
        try dispatch(.copyStrided, buffers: [(input, .read), (output, .write)], push: push,
                     groups: elementwiseGroups(count))
    }
}
