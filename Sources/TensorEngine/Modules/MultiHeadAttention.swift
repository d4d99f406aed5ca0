import TensorCore

/// Multi-head self-attention as in BERT and GPT: query, key and value projections of the
/// input, ``scaledDotProductAttention(query:key:value:mask:causal:scale:)`` per head (one fused
/// kernel: the scores are never stored), then the output projection. Parameters
/// "query.weight", "query.bias", "key.*", "value.*", "output.*" (weights [in, out]).
///
/// Dropout on the attention probabilities is not offered: the fused kernel never forms them
/// (hidden-state dropout lives in ``TransformerEncoderLayer``).
///
/// What backward keeps: the four projections keep their inputs as `inputStorage` says (the
/// query, key and value projections share one input, kept once, also in 8 bits), and the
/// fused attention keeps q, k, v, its output and log-sum-exp in float32, or only q, k, v in
/// 8 bits (`attentionStorage`; see ``scaledDotProductAttention(query:key:value:mask:causal:scale:storage:)``).
///
/// ```swift
/// let attention = try MultiHeadAttention(features: 384, heads: 12, seed: 1, on: .cpu)
/// let mask = try MultiHeadAttention.additiveMask(attentionMask)   // [B, L] of 1/0 -> [B, 1, 1, L]
/// let y = try attention(x, mask: mask)                            // x [B, L, 384]
/// let small = try MultiHeadAttention(features: 384, heads: 12, inputStorage: .mesa, attentionStorage: .mesa, on: .cpu)
/// ```
public struct MultiHeadAttention: Module {
    public let query: Linear, key: Linear, value: Linear, output: Linear
    public let heads: Int
    /// How the fused attention keeps q, k and v for backward (``ActivationStorage``).
    public let attentionStorage: ActivationStorage

    public init(features: Int, heads: Int, bias: Bool = true, inputStorage: ActivationStorage = .float32,
                attentionStorage: ActivationStorage = .float32, seed: UInt64 = 0,
                on device: Device = .default) throws(TensorError) {
        guard features > 0, heads > 0, features % heads == 0 else {
            throw .invalidArgument(op: "MultiHeadAttention",
                                   reason: "features (\(features)) must be a positive multiple of heads (\(heads))")
        }
        try attentionStorage.validate(op: "MultiHeadAttention")
        query = try Linear(features, features, bias: bias, inputStorage: inputStorage, seed: seed, on: device)
        key = try Linear(features, features, bias: bias, inputStorage: inputStorage, seed: seed &+ 1, on: device)
        value = try Linear(features, features, bias: bias, inputStorage: inputStorage, seed: seed &+ 2, on: device)
        output = try Linear(features, features, bias: bias, inputStorage: inputStorage, seed: seed &+ 3, on: device)
        self.heads = heads
        self.attentionStorage = attentionStorage
    }

    /// Self-attention of `x` [batch, length, features]; `mask` is additive and broadcastable to
    /// [batch, heads, length, length]; `causal` lets position i see only positions <= i.
    public func callAsFunction(_ x: Tensor, mask: Tensor? = nil, causal: Bool = false) throws(TensorError) -> Tensor {
        guard x.rank == 3, x.shape[2] == query.weight.shape[0] else {
            throw .shapeMismatch(op: "MultiHeadAttention", lhs: x.shape, rhs: query.weight.shape,
                                 reason: "the input must be [batch, length, features] with the projections' features")
        }
        let (batch, length, features) = (x.shape[0], x.shape[1], x.shape[2])
        let headSize = features / heads
        func split(_ projected: Tensor) throws(TensorError) -> Tensor {
            try projected.reshaped([batch, length, heads, headSize]).permuted([0, 2, 1, 3])
        }
        let attended = try scaledDotProductAttention(query: split(query(x)), key: split(key(x)), value: split(value(x)),
                                                     mask: mask, causal: causal, storage: attentionStorage)
        let merged = try attended.permuted([0, 2, 1, 3]).reshaped([batch, length, features])
        return try output(merged)
    }

    /// A padding mask in additive form: `attentionMask` [batch, length] of 1 (real token) and 0
    /// (padding), float32 or int32, becomes float32 [batch, 1, 1, length] of 0 and the most
    /// negative float (as transformers builds it), broadcastable over heads and queries.
    public static func additiveMask(_ attentionMask: Tensor) throws(TensorError) -> Tensor {
        guard attentionMask.rank == 2 else {
            throw .invalidShape(op: "additiveMask", shape: attentionMask.shape, reason: "needs [batch, length]")
        }
        let ones = try (attentionMask.dtype == .float32 ? attentionMask : attentionMask.cast(to: .float32)).detached()
        let lowest = -Float.greatestFiniteMagnitude
        return try (ones * (-lowest) + lowest).reshaped([attentionMask.shape[0], 1, 1, attentionMask.shape[1]])
    }

    public var namedParameters: [(name: String, tensor: Tensor)] {
        [("query", query), ("key", key), ("value", value), ("output", output)].flatMap { prefix, layer in
            layer.namedParameters.map { ("\(prefix).\($0.name)", $0.tensor) }
        }
    }
}
