/// Which inputs of an activation-sparse product count as zero: `|x| <= t`.
///
/// A scalar applies one threshold to every input; a per-channel buffer holds one
/// threshold per input feature (K elements, one per row of the weight matrix).
/// A threshold of 0 skips exact zeros only, which leaves the product unchanged.
///
/// ```swift
/// let relu = SparseThreshold.scalar(0)             // skip the zeros a ReLU left
/// let tuned = SparseThreshold.perChannel(buffer)   // K calibrated thresholds
/// ```
public enum SparseThreshold: Sendable {
    case scalar(Float)
    case perChannel(any BackendBuffer)

    /// True for `.scalar(0)`: thresholding changes nothing (only exact zeros are skipped).
    public var isExactZero: Bool {
        if case let .scalar(t) = self { return t == 0 }
        return false
    }
}

/// How an input-sparse product visits the weight rows.
///
/// ```swift
/// try backend.run(.sparseMatmul(x: x, w: w, y: y, rows: 1, inner: 4096, columns: 11008,
///                               threshold: .scalar(0), mode: .perRow))
/// ```
public enum SparseMode: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Each batch row compacts its own nonzero inputs and reads only those weight rows.
    case perRow
    /// The batch shares one list of weight rows: every row where any batch row is nonzero;
    /// each weight row is read once and applied to the whole batch. A backend may form the
    /// union over blocks of rows instead (the Vulkan kernel: four rows per workgroup); the
    /// result is the same.
    case unionOverBatch
    /// No skipping: the thresholded input times the whole weight matrix (the dense kernel).
    case dense

    public var description: String { rawValue }
}
