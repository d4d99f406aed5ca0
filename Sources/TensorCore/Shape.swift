/// Shape arithmetic shared by the frontend and the backends.
///
/// Shapes are `[Int]`, outermost dimension first, row-major (C order).
public enum ShapeMath {
    /// The number of elements of `shape` (1 for a scalar `[]`).
    public static func elementCount(_ shape: [Int]) -> Int {
        shape.reduce(1, *)
    }

    /// Throws unless every extent is non-negative and the element count fits in memory terms.
    public static func validate(_ shape: [Int], op: String) throws(TensorError) {
        var count = 1
        for extent in shape {
            if extent < 0 {
                throw .invalidShape(op: op, shape: shape, reason: "negative extent")
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: extent)
            if overflow || product > Int(Int32.max) * 4 {
                throw .invalidShape(op: op, shape: shape, reason: "too many elements")
            }
            count = product
        }
    }

    /// Row-major strides (in elements) of a contiguous tensor of `shape`.
    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = running
            running *= shape[axis]
        }
        return strides
    }

    /// NumPy broadcasting of two shapes; throws naming both when they do not broadcast.
    public static func broadcast(_ lhs: [Int], _ rhs: [Int], op: String) throws(TensorError) -> [Int] {
        let rank = max(lhs.count, rhs.count)
        var result = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let a = i < rank - lhs.count ? 1 : lhs[i - (rank - lhs.count)]
            let b = i < rank - rhs.count ? 1 : rhs[i - (rank - rhs.count)]
            if a == b || b == 1 {
                result[i] = a
            } else if a == 1 {
                result[i] = b
            } else {
                throw .shapeMismatch(op: op, lhs: lhs, rhs: rhs, reason: "shapes do not broadcast")
            }
        }
        return result
    }

    /// Resolves a possibly negative axis against `rank`.
    public static func normalizeAxis(_ axis: Int, rank: Int, op: String) throws(TensorError) -> Int {
        let resolved = axis < 0 ? axis + rank : axis
        guard resolved >= 0, resolved < max(rank, 1) else {
            throw .invalidArgument(op: op, reason: "axis \(axis) is out of range for rank \(rank)")
        }
        return resolved
    }
}

/// A strided read of a source buffer into a contiguous destination of `shape`.
///
/// Element `i` of the destination, with multi-index `(i0, ..., iR-1)`, comes from
/// `offset + sum(ik * strides[k])` of the source. A stride of 0 repeats (broadcasts)
/// the source along that axis. Backends use this for transposes, expansion and
/// materialising views. Adjacent axes that are contiguous in the source are merged,
/// so typical layouts reach the kernels with rank 1 to 3.
public struct StridedLayout: Sendable, Equatable {
    /// Maximum rank a kernel accepts after merging.
    public static let maxRank = 8

    public var shape: [Int]
    public var strides: [Int]
    public var offset: Int

    public init(shape: [Int], strides: [Int], offset: Int = 0) {
        self.shape = shape
        self.strides = strides
        self.offset = offset
    }

    public var elementCount: Int { ShapeMath.elementCount(shape) }

    /// The row-major layout of `shape` from `offset`.
    ///
    /// ```swift
    /// let flat = StridedLayout.contiguous([count])
    /// ```
    public static func contiguous(_ shape: [Int], offset: Int = 0) -> StridedLayout {
        StridedLayout(shape: shape, strides: ShapeMath.contiguousStrides(shape), offset: offset)
    }

    /// The layout without its last axis (the rows of a row-wise op) and that axis's extent and
    /// stride; a rank-0 layout is one row of one element.
    public var rowsAndColumns: (rows: StridedLayout, columns: Int, columnStride: Int) {
        guard let columns = shape.last else { return (self, 1, 1) }
        return (StridedLayout(shape: Array(shape.dropLast()), strides: Array(strides.dropLast()), offset: offset),
                columns, strides[strides.count - 1])
    }

    /// Whether the layout walks memory row-major without gaps from ``offset``.
    public var isContiguous: Bool {
        let merged = coalesced()
        return merged.shape.isEmpty || (merged.shape.count == 1 && merged.strides[0] == 1)
    }

    /// The lowest and highest element offsets the layout reaches (for a non-empty shape).
    public var reachedOffsets: ClosedRange<Int> {
        var low = offset, high = offset
        for (extent, stride) in zip(shape, strides) where extent > 0 {
            let reach = (extent - 1) * stride
            if reach < 0 { low += reach } else { high += reach }
        }
        return low...high
    }

    /// Merges adjacent axes that can be walked as one; drops extent-1 axes.
    public func coalesced() -> StridedLayout {
        let merged = Self.coalesce(shape: shape, strideSets: [strides])
        return StridedLayout(shape: merged.shape, strides: merged.strides[0], offset: offset)
    }

    /// Merges axes jointly for several layouts sharing one shape (as in a broadcast
    /// binary op): axis j folds into the axis before it when, in every layout,
    /// `stride[before] == stride[j] * shape[j]`. Offsets are unaffected.
    public static func coalesce(shape: [Int], strideSets: [[Int]]) -> (shape: [Int], strides: [[Int]]) {
        var outShape: [Int] = []
        var outStrides = [[Int]](repeating: [], count: strideSets.count)
        for axis in 0..<shape.count where shape[axis] != 1 {
            let mergeable = !outShape.isEmpty && strideSets.indices.allSatisfy {
                strideSets[$0][axis] * shape[axis] == outStrides[$0][outStrides[$0].count - 1]
            }
            if mergeable {
                outShape[outShape.count - 1] *= shape[axis]
                for s in strideSets.indices { outStrides[s][outStrides[s].count - 1] = strideSets[s][axis] }
            } else {
                outShape.append(shape[axis])
                for s in strideSets.indices { outStrides[s].append(strideSets[s][axis]) }
            }
        }
        return (outShape, outStrides)
    }
}
