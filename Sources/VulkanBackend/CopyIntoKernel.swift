import TensorCore

extension VulkanDevice {
    /// `destination[destinationLayout(i)] = source[sourceLayout(i)]` in elements of `dtype`
    /// (Shaders/copy_into.comp; the element size is a specialisation constant). The two
    /// layouts are merged together, so a slab of a concatenation usually reaches the kernel
    /// with rank 1 or 2. 1- and 2-byte elements are stored with atomics on their 32-bit word
    /// (see the shader), slower than 4-byte elements but correct for any destination layout.
    ///
    /// ```swift
    /// // Row 1 of a [3, 4] destination from a contiguous [4] source.
    /// try gpu.copyInto(x, layout: .contiguous([4]), to: y,
    ///                  layout: StridedLayout(shape: [4], strides: [1], offset: 4), dtype: .float32)
    /// ```
    public func copyInto(_ source: any BackendBuffer, layout sourceLayout: StridedLayout,
                         to destination: any BackendBuffer, layout destinationLayout: StridedLayout,
                         dtype: DType) throws(TensorError) {
        let op = "copyInto"
        let input = try buffer(source, op)
        let output = try buffer(destination, op)
        try CopyIntoLayout.validate(source: sourceLayout, sourceBytes: input.byteCount, destination: destinationLayout,
                                    destinationBytes: output.byteCount, dtype: dtype)
        let count = sourceLayout.elementCount
        guard count > 0 else { return }
        let m = CopyIntoLayout.merged(source: sourceLayout, destination: destinationLayout)
        guard m.shape.count <= StridedLayout.maxRank,
              [sourceLayout, destinationLayout].allSatisfy({ $0.reachedOffsets.upperBound <= Int(UInt32.max) }) else {
            throw .invalidArgument(op: op, reason: "layouts \(sourceLayout) and \(destinationLayout) need rank "
                                   + "\(m.shape.count) after merging (at most \(StridedLayout.maxRank)) or 32-bit offsets")
        }
        var push = PushConstants()
        push.append(count)
        push.append(m.shape.count)
        push.append(sourceLayout.offset)
        push.append(destinationLayout.offset)
        for axis in 0..<StridedLayout.maxRank { push.append(axis < m.shape.count ? m.shape[axis] : 1) }
        for axis in 0..<StridedLayout.maxRank { push.append(axis < m.shape.count ? m.sourceStrides[axis] : 0) }
        for axis in 0..<StridedLayout.maxRank { push.append(axis < m.shape.count ? m.destinationStrides[axis] : 0) }
        let constants = SpecConstants([0: UInt32(dtype.byteSize)])
        try dispatch(.copyInto, constants: constants, buffers: [(input, .read), (output, .readWrite)], push: push,
                     groups: elementwiseGroups(count))
    }
}
