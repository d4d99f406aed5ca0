/// Which extreme ``BackendOp/reduceIndex(_:input:layout:values:indices:)`` takes along its axis.
///
/// ```swift
/// try backend.run(.reduceIndex(.max, input: x, layout: .contiguous([1, 5, 1]), values: v, indices: i))
/// ```
public enum ReduceIndexOp: Sendable, CaseIterable, CustomStringConvertible {
    case max, min

    /// "max" or "min".
    public var description: String { self == .max ? "max" : "min" }

    /// Whether `candidate` replaces `best` (both float32, `best` found at a lower index): NaN
    /// wins and the first NaN stays; otherwise only a strictly larger (smaller) value does, so
    /// ties keep the lowest index. The rule every backend follows.
    ///
    /// ```swift
    /// ReduceIndexOp.max.replaces(3, with: .nan)   // true
    /// ```
    @inline(__always)
    public func replaces(_ best: Float, with candidate: Float) -> Bool {
        if best.isNaN { return false }
        if candidate.isNaN { return true }
        return self == .max ? candidate > best : candidate < best
    }
}

/// Limits and shared rules of the selection ops' kernels.
///
/// ```swift
/// let fits = merged.shape.count <= SelectLimits.maxRank
/// ```
public enum SelectLimits {
    /// The largest rank of ``BackendOp/select(condition:conditionLayout:a:aLayout:b:bLayout:output:)``'s
    /// layouts after coalescing that every backend takes (three layouts of rank 6 fill
    /// Vulkan's 128 bytes of push constants).
    public static let maxRank = 6

    /// Whether `(x, i)` comes before `(y, j)` in ``BackendOp/topK(input:rows:columns:k:largest:values:indices:)``'s
    /// output order: NaN above +inf, equal values by lower index; `largest` orders from the top.
    ///
    /// ```swift
    /// SelectLimits.topKBefore(2, 5, 2, 7, largest: true)   // true: a tie goes to the lower index
    /// ```
    @inline(__always)
    public static func topKBefore(_ x: Float, _ i: Int, _ y: Float, _ j: Int, largest: Bool) -> Bool {
        let xn = x.isNaN, yn = y.isNaN
        if xn && yn { return i < j }
        if xn { return largest }
        if yn { return !largest }
        if x == y { return i < j }
        return largest ? x > y : x < y
    }
}
