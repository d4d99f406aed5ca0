import TensorCore

/// A stack of ``TransformerEncoderLayer``s over token and learned position embeddings (plus
/// optional token-type embeddings, as BERT): BERT's encoder with ``NormPlacement/post`` (a
/// LayerNorm on the embeddings), GPT's decoder body with ``NormPlacement/pre`` and `causal`
/// attention (a final LayerNorm after the last layer). Returns the hidden states
/// [batch, length, features]; heads (a vocabulary projection, pooling and a classifier) go on top.
///
/// Parameters: "tokenEmbedding.weight", "positionEmbedding.weight",
/// ["tokenTypeEmbedding.weight"], ["embeddingNorm.*"] (post), "layers.N.*", ["finalNorm.*"] (pre).
///
/// ```swift
/// let config = TransformerConfiguration(vocabulary: 96, features: 64, heads: 4, layers: 2, feedForward: 256,
///                                       maxLength: 64, normPlacement: .pre, dropout: 0)
/// let body = try TransformerEncoder(config, seed: 1, on: .cpu)
/// let hidden = try body(ids, causal: true)       // ids int32 [batch, length]
/// ```
public struct TransformerEncoder: Module {
    public let configuration: TransformerConfiguration
    public let tokenEmbedding: Embedding
    public let positionEmbedding: Embedding
    public let tokenTypeEmbedding: Embedding?
    public let embeddingNorm: LayerNorm?
    public let layers: [TransformerEncoderLayer]
    public let finalNorm: LayerNorm?
    public let embeddingDropout: Dropout

    public init(_ configuration: TransformerConfiguration, seed: UInt64 = 0,
                on device: Device = .default) throws(TensorError) {
        let c = configuration
        tokenEmbedding = try Embedding(c.vocabulary, c.features, std: c.initStd, seed: seed, on: device)
        positionEmbedding = try Embedding(c.maxLength, c.features, std: c.initStd, seed: seed &+ 1, on: device)
        tokenTypeEmbedding = c.tokenTypes > 0
            ? try Embedding(c.tokenTypes, c.features, std: c.initStd, seed: seed &+ 2, on: device) : nil
        embeddingNorm = c.normPlacement == .post
            ? try LayerNorm(c.features, epsilon: c.epsilon, memory: c.saved.normalization,
                            storage: c.saved.normalizationStorage, on: device) : nil
        var stack: [TransformerEncoderLayer] = []
        for index in 0..<c.layers {
            stack.append(try TransformerEncoderLayer(
                features: c.features, heads: c.heads, feedForward: c.feedForward, activation: c.activation,
                normPlacement: c.normPlacement, epsilon: c.epsilon, dropout: c.dropout, memory: c.memory,
                saved: c.saved, seed: seed &+ 100 &* UInt64(index + 1), on: device))
        }
        layers = stack
        finalNorm = c.normPlacement == .pre
            ? try LayerNorm(c.features, epsilon: c.epsilon, memory: c.saved.normalization,
                            storage: c.saved.normalizationStorage, on: device) : nil
        embeddingDropout = try Dropout(probability: c.dropout, seed: seed &+ 3)
        self.configuration = configuration
    }

    /// Hidden states of `ids` (int32 [batch, length]); `attentionMask` [batch, length] of 1 for
    /// real tokens and 0 for padding (float32 or int32) hides the padding keys; `tokenTypes`
    /// (int32 [batch, length]) selects BERT's segment embeddings (all 0 when nil).
    public func callAsFunction(_ ids: Tensor, attentionMask: Tensor? = nil, tokenTypes: Tensor? = nil,
                               causal: Bool = false) throws(TensorError) -> Tensor {
        guard ids.rank == 2, ids.dtype == .int32 else {
            throw .invalidArgument(op: "TransformerEncoder", reason: "ids must be int32 [batch, length], got \(ids.dtype) \(ids.shape)")
        }
        let length = ids.shape[1]
        guard length <= configuration.maxLength else {
            throw .invalidArgument(op: "TransformerEncoder",
                                   reason: "length \(length) exceeds the \(configuration.maxLength) learned positions")
        }
        let positions = try Tensor(int32: (0..<Int32(length)).map { $0 }, shape: [length], on: ids.device)
        var x = try tokenEmbedding(ids) + positionEmbedding(positions)
        if let tokenTypeEmbedding {
            // Without types every token is type 0: row 0 broadcast over the batch and positions.
            if let tokenTypes {
                x = try x + tokenTypeEmbedding(tokenTypes)
            } else {
                x = try x + tokenTypeEmbedding.weight.slice(axis: 0, range: 0..<1)
            }
        }
        if let embeddingNorm { x = try embeddingNorm(x) }
        x = try embeddingDropout(x)
        let mask = try attentionMask.map { (m) throws(TensorError) in try MultiHeadAttention.additiveMask(m) }
        for layer in layers { x = try layer(x, mask: mask, causal: causal) }
        if let finalNorm { x = try finalNorm(x) }
        return x
    }

    public func setTraining(_ training: Bool) {
        embeddingDropout.setTraining(training)
        for layer in layers { layer.setTraining(training) }
    }

    public var namedParameters: [(name: String, tensor: Tensor)] {
        var parts: [(String, any Module)] = [("tokenEmbedding", tokenEmbedding), ("positionEmbedding", positionEmbedding)]
        if let tokenTypeEmbedding { parts.append(("tokenTypeEmbedding", tokenTypeEmbedding)) }
        if let embeddingNorm { parts.append(("embeddingNorm", embeddingNorm)) }
        for (index, layer) in layers.enumerated() { parts.append(("layers.\(index)", layer)) }
        if let finalNorm { parts.append(("finalNorm", finalNorm)) }
        return parts.flatMap { prefix, module in module.namedParameters.map { ("\(prefix).\($0.name)", $0.tensor) } }
    }
}

/// The shape of a ``TransformerEncoder``, and what its training keeps for backward: `memory`
/// for the feed-forward activation (``ActivationMemory``: exact or few-bit codes), `saved` for
/// the linear layers' inputs, the normalisations and the attention (``SavedActivations``:
/// exact, Mesa's 8 bits, memory-sharing normalisation, or a mix per kind of op; the heads of
/// ``CausalLanguageModel`` and ``SequenceClassifier`` keep their inputs as `saved.linearInputs` too).
///
/// ```swift
/// let bertMini = TransformerConfiguration(vocabulary: 30522, features: 384, heads: 12, layers: 6,
///                                         feedForward: 1536, maxLength: 512, tokenTypes: 2,
///                                         normPlacement: .post, epsilon: 1e-12)
/// var small = bertMini
/// small.saved = .memorySharingMesa(groupSize: 64)
/// small.memory = .fewBit(bits: 2)
/// ```
public struct TransformerConfiguration: Sendable, Equatable {
    public var vocabulary: Int
    public var features: Int
    public var heads: Int
    public var layers: Int
    public var feedForward: Int
    public var maxLength: Int
    public var tokenTypes: Int
    public var normPlacement: NormPlacement
    public var epsilon: Float
    public var activation: Activation
    public var dropout: Float
    public var initStd: Float
    public var memory: ActivationMemory
    /// What linear layers, normalisations and attention keep for backward.
    public var saved: SavedActivations

    public init(vocabulary: Int, features: Int, heads: Int, layers: Int, feedForward: Int, maxLength: Int,
                tokenTypes: Int = 0, normPlacement: NormPlacement = .post, epsilon: Float = 1e-5,
                activation: Activation = .gelu, dropout: Float = 0.1, initStd: Float = 0.02,
                memory: ActivationMemory = .exact, saved: SavedActivations = .exact) {
        self.vocabulary = vocabulary
        self.features = features
        self.heads = heads
        self.layers = layers
        self.feedForward = feedForward
        self.maxLength = maxLength
        self.tokenTypes = tokenTypes
        self.normPlacement = normPlacement
        self.epsilon = epsilon
        self.activation = activation
        self.dropout = dropout
        self.initStd = initStd
        self.memory = memory
        self.saved = saved
    }
}
