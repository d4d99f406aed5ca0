/// The checks and axis merging of ``BackendOp/copyInto(source:sourceLayout:destination:destinationLayout:dtype:)``,
/// shared by the backends so that each validates the op the same way.
public enum CopyIntoLayout {
    /// Throws unless both layouts have one shape, non-negative strides, reach only inside
    /// their buffers (sizes in bytes) and the destination reaches no element twice through a
    /// stride of 0.
    ///
    /// ```swift
    /// try CopyIntoLayout.validate(source: .contiguous([2, 3]), sourceBytes: 24,
    ///                             destination: StridedLayout(shape: [2, 3], strides: [5, 1], offset: 2),
    ///                             destinationBytes: 40, dtype: .float32)
    /// ```
    public static func validate(source: StridedLayout, sourceBytes: Int, destination: StridedLayout,
                                destinationBytes: Int, dtype: DType) throws(TensorError) {
        let op = "copyInto"
        guard source.shape == destination.shape else {
            throw .shapeMismatch(op: op, lhs: source.shape, rhs: destination.shape,
                                 reason: "source and destination layouts have different shapes")
        }
        for layout in [source, destination] {
            guard layout.strides.count == layout.shape.count, layout.shape.allSatisfy({ $0 >= 0 }),
                  layout.strides.allSatisfy({ $0 >= 0 }), layout.offset >= 0 else {
                throw .invalidArgument(op: op, reason: "layout \(layout.shape) strides \(layout.strides) offset "
                                       + "\(layout.offset): ranks must match and strides and offset be non-negative")
            }
        }
        guard source.elementCount > 0 else { return }
        guard zip(destination.shape, destination.strides).allSatisfy({ $0 <= 1 || $1 != 0 }) else {
            throw .invalidArgument(op: op, reason: "destination strides \(destination.strides) for shape "
                                   + "\(destination.shape) write an element more than once")
        }
        for (layout, bytes) in [(source, sourceBytes), (destination, destinationBytes)]
        where layout.reachedOffsets.upperBound >= bytes / dtype.byteSize {
            throw .invalidArgument(op: op, reason: "layout \(layout.shape) strides \(layout.strides) offset "
                                   + "\(layout.offset) reaches outside a buffer of \(bytes) bytes of \(dtype)")
        }
    }

    /// The common shape with the two layouts' strides, axes merged where both walk them as
    /// one (extent-1 axes dropped); offsets are unchanged.
    public static func merged(source: StridedLayout, destination: StridedLayout)
        -> (shape: [Int], sourceStrides: [Int], destinationStrides: [Int]) {
        let merged = StridedLayout.coalesce(shape: source.shape, strideSets: [source.strides, destination.strides])
        return (merged.shape, merged.strides[0], merged.strides[1])
    }
}
