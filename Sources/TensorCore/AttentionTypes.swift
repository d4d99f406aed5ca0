/// The sizes and parameters of one fused scaled dot-product attention
/// (``BackendOp/attentionForward(_:query:key:value:mask:output:logSumExp:types:)`` and its backward).
///
/// Query is contiguous [batch, heads, queryLength, headDimension], key [batch, heads,
/// keyLength, headDimension], value [batch, heads, keyLength, valueDimension], the output
/// [batch, heads, queryLength, valueDimension] and the log-sum-exp [batch, heads, queryLength].
/// The score of query i and key j is `scale * q_i . k_j + mask[b, h, i, j]`, and `-inf`
/// where `causal` and `j > i` (top-left aligned, as PyTorch's `is_causal`, for any lengths).
///
/// ```swift
/// let geometry = AttentionGeometry(batch: 2, heads: 12, queryLength: 128, keyLength: 128,
///                                  headDimension: 32, scale: 1 / 32.squareRoot(), causal: true)
/// ```
public struct AttentionGeometry: Sendable, Equatable, CustomStringConvertible {
    public var batch: Int
    public var heads: Int
    public var queryLength: Int
    public var keyLength: Int
    public var headDimension: Int
    public var valueDimension: Int
    public var scale: Float
    public var causal: Bool

    /// The largest head (and value) dimension the kernels hold per query: 128.
    public static let maxHeadDimension = 128

    public init(batch: Int, heads: Int, queryLength: Int, keyLength: Int, headDimension: Int,
                valueDimension: Int? = nil, scale: Float, causal: Bool) {
        self.batch = batch
        self.heads = heads
        self.queryLength = queryLength
        self.keyLength = keyLength
        self.headDimension = headDimension
        self.valueDimension = valueDimension ?? headDimension
        self.scale = scale
        self.causal = causal
    }

    /// batch * heads: the number of independent attention problems.
    public var batchHeads: Int { batch * heads }

    public var description: String {
        "B \(batch) H \(heads) Lq \(queryLength) Lk \(keyLength) Dh \(headDimension) Dv \(valueDimension)"
            + " scale \(scale)\(causal ? " causal" : "")"
    }
}

/// An additive float32 attention mask read in place: `layout` has shape [batch, heads,
/// queryLength, keyLength] with stride 0 along broadcast axes (a [B, 1, 1, Lk] padding mask
/// is B * Lk floats, never expanded). Entries may be `-inf` or very negative finite values.
///
/// ```swift
/// let mask = AttentionMask(buffer: m, layout: StridedLayout(shape: [2, 12, 128, 128], strides: [128, 0, 0, 1]))
/// ```
public struct AttentionMask: Sendable {
    public var buffer: any BackendBuffer
    public var layout: StridedLayout

    public init(buffer: any BackendBuffer, layout: StridedLayout) {
        self.buffer = buffer
        self.layout = layout
    }
}
