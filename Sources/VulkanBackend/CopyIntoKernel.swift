import TensorCore

extension VulkanDevice {
    /// `destination[destinationLayout(i)] = source[sourceLayout(i)]` in elements of `dtype`
    /// (Shaders/copy_into.comp; the element size is a specialisation constant). The two
    /// layouts are merged together, so a slab of a concatenation usually reaches the kernel
    /// with rank 1 or 2. 1- and 2-byte elements share 32-bit words: along a destination row of
    /// stride 1 one invocation writes each word (atomics only for the words at a row's ends),
    /// and through any other destination layout each element is stored with two atomics on
    /// its word (see the shader).
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
        // 1- and 2-byte elements along a contiguous destination row: one invocation per word.
        let perWord = 4 / dtype.byteSize
        let columns = m.shape.last ?? 1
        let rows = perWord > 1 && (m.destinationStrides.last ?? 1) == 1 ? count / columns : 0
        // The most words a run of `columns` elements spans, at its worst alignment.
        let wordsPerRow = rows > 0 ? (columns + 2 * (perWord - 1)) / perWord : 0
        let invocations = rows > 0 ? rows * wordsPerRow : count
        guard invocations <= Int(UInt32.max) else {
            throw .invalidArgument(op: op, reason: "\(invocations) invocations exceed 32-bit indexing")
        }
        var push = PushConstants()
        push.append(invocations)
        push.append(max(m.shape.count, 1))
        push.append(sourceLayout.offset)
        push.append(destinationLayout.offset)
        push.append(wordsPerRow)
        for axis in 0..<StridedLayout.maxRank { push.append(axis < m.shape.count ? m.shape[axis] : 1) }
        for axis in 0..<StridedLayout.maxRank { push.append(axis < m.shape.count ? m.sourceStrides[axis] : 0) }
        for axis in 0..<StridedLayout.maxRank { push.append(axis < m.shape.count ? m.destinationStrides[axis] : 0) }
        let constants = SpecConstants([0: UInt32(dtype.byteSize)])
        try dispatch(.copyInto, constants: constants, buffers: [(input, .read), (output, .readWrite)], push: push,
                     groups: elementwiseGroups(invocations))
    }
}
