import TensorCore

extension PushConstants {
    /// A strided input layout for the elementwise shaders (Shaders/common/strided.glsl):
    /// rank, offset, shape and strides, each padded to ``StridedLayout/maxRank``; rank 0 for a
    /// contiguous run, which the shaders read as `offset + i` without the index arithmetic.
    mutating func appendInputLayout(_ layout: StridedLayout, op: String) throws(TensorError) {
        let merged = layout.coalesced()
        let contiguous = layout.isContiguous
        guard contiguous || merged.shape.count <= StridedLayout.maxRank else {
            throw .invalidArgument(op: op,
                                   reason: "layout of rank \(merged.shape.count) after merging; at most \(StridedLayout.maxRank)")
        }
        let rank = contiguous ? 0 : merged.shape.count
        append(rank)
        append(layout.offset)
        for axis in 0..<StridedLayout.maxRank { append(axis < rank ? merged.shape[axis] : 1) }
        for axis in 0..<StridedLayout.maxRank { append(axis < rank ? merged.strides[axis] : 0) }
    }
}

extension VulkanDevice {
    /// Throws unless every element `layout` reaches lies inside `buffer`.
    func requireInside(_ layout: StridedLayout, of buffer: VulkanBuffer, op: String,
                       dtype: DType = .float32) throws(TensorError) {
        let capacity = dtype == .float32 ? buffer.elementCount : buffer.byteCount / dtype.byteSize
        guard layout.shape.count == layout.strides.count else {
            throw .invalidArgument(op: op, reason: "layout shape \(layout.shape) and strides \(layout.strides) differ in rank")
        }
        guard layout.elementCount > 0 else { return }
        let reached = layout.reachedOffsets
        guard reached.lowerBound >= 0, reached.upperBound < capacity else {
            throw .invalidArgument(op: op, reason: "layout \(layout.shape) strides \(layout.strides) offset \(layout.offset) "
                                   + "reaches outside a buffer of \(capacity) elements")
        }
    }
}
