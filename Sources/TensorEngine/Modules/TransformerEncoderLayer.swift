import TensorCore

/// Where a transformer layer normalises: after each residual sum (BERT) or before each
/// sublayer (GPT-2 and most decoders since).
public enum NormPlacement: Sendable, Equatable {
    /// `x = norm(x + sublayer(x))`, as BERT.
    case post
    /// `x = x + sublayer(norm(x))`, as GPT-2.
    case pre
}

/// One transformer layer: multi-head self-attention and a two-layer feed-forward network
/// (`features -> feedForward -> features` with `activation` fused into the first), each with
/// dropout on its output, a residual connection and a layer normalisation placed per
/// ``NormPlacement``. Parameters "attention.*", "attentionNorm.*", "feedForwardUp.*",
/// "feedForwardDown.*", "feedForwardNorm.*".
///
/// `memory` is the feed-forward activation's backward memory (``ActivationMemory``: exact or
/// few-bit codes); `saved` what the linear layers, normalisations and attention keep
/// (``SavedActivations``: float32, Mesa's 8 bits, memory-sharing normalisation).
///
/// ```swift
/// let layer = try TransformerEncoderLayer(features: 384, heads: 12, feedForward: 1536,
///                                         normPlacement: .post, epsilon: 1e-12, dropout: 0.1, seed: 1, on: .cpu)
/// let y = try layer(x, mask: MultiHeadAttention.additiveMask(attentionMask))
/// ```
public struct TransformerEncoderLayer: Module {
    public let attention: MultiHeadAttention
    public let attentionNorm: LayerNorm
    public let feedForwardUp: Linear
    public let feedForwardDown: Linear
    public let feedForwardNorm: LayerNorm
    public let dropout: Dropout
    public let normPlacement: NormPlacement

    public init(features: Int, heads: Int, feedForward: Int, activation: Activation = .gelu,
                normPlacement: NormPlacement = .post, epsilon: Float = 1e-5, dropout probability: Float = 0.1,
                memory: ActivationMemory = .exact, saved: SavedActivations = .exact, seed: UInt64 = 0,
                on device: Device = .default) throws(TensorError) {
        attention = try MultiHeadAttention(features: features, heads: heads, inputStorage: saved.linearInputs,
                                           attentionStorage: saved.attention, seed: seed, on: device)
        attentionNorm = try LayerNorm(features, epsilon: epsilon, memory: saved.normalization,
                                      storage: saved.normalizationStorage, on: device)
        feedForwardUp = try Linear(features, feedForward, activation: activation, memory: memory,
                                   inputStorage: saved.linearInputs, seed: seed &+ 4, on: device)
        feedForwardDown = try Linear(feedForward, features, inputStorage: saved.linearInputs, seed: seed &+ 5, on: device)
        feedForwardNorm = try LayerNorm(features, epsilon: epsilon, memory: saved.normalization,
                                        storage: saved.normalizationStorage, on: device)
        dropout = try Dropout(probability: probability, seed: seed &+ 6)
        self.normPlacement = normPlacement
    }

    /// The layer on `x` [batch, length, features] with an additive attention `mask`
    /// (see ``MultiHeadAttention/additiveMask(_:)``) and optional causal attention.
    public func callAsFunction(_ x: Tensor, mask: Tensor? = nil, causal: Bool = false) throws(TensorError) -> Tensor {
        switch normPlacement {
        case .post:
            let attended = try attentionNorm(x + dropout(attention(x, mask: mask, causal: causal)))
            return try feedForwardNorm(attended + dropout(feedForwardDown(feedForwardUp(attended))))
        case .pre:
            let attended = try x + dropout(attention(attentionNorm(x), mask: mask, causal: causal))
            return try attended + dropout(feedForwardDown(feedForwardUp(feedForwardNorm(attended))))
        }
    }

    public func setTraining(_ training: Bool) { dropout.setTraining(training) }

    public var namedParameters: [(name: String, tensor: Tensor)] {
        let parts: [(String, any Module)] = [("attention", attention), ("attentionNorm", attentionNorm),
                                             ("feedForwardUp", feedForwardUp), ("feedForwardDown", feedForwardDown),
                                             ("feedForwardNorm", feedForwardNorm)]
        return parts.flatMap { prefix, module in module.namedParameters.map { ("\(prefix).\($0.name)", $0.tensor) } }
    }
}
