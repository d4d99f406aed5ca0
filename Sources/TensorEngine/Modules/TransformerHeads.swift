import TensorCore

/// A GPT-style language model: a pre-LN ``TransformerEncoder`` with causal attention and a
/// linear head over the vocabulary. Parameters are the body's names plus "head.weight" and
/// "head.bias".
///
/// ```swift
/// let config = TransformerConfiguration(vocabulary: 97, features: 64, heads: 4, layers: 2, feedForward: 256,
///                                       maxLength: 64, normPlacement: .pre, dropout: 0)
/// let model = try CausalLanguageModel(config, seed: 1, on: .cpu)
/// let loss = try model.loss(ids, targets: nextIds)     // int32 [batch, length] each
/// ```
public struct CausalLanguageModel: Module {
    public let body: TransformerEncoder
    public let head: Linear

    public init(_ configuration: TransformerConfiguration, seed: UInt64 = 0, on device: Device = .default) throws(TensorError) {
        body = try TransformerEncoder(configuration, seed: seed, on: device)
        head = try Linear(configuration.features, configuration.vocabulary, inputStorage: configuration.saved.linearInputs,
                          seed: seed &+ 7, on: device)
    }

    /// Next-token logits [batch, length, vocabulary] of int32 `ids` [batch, length].
    public func logits(_ ids: Tensor) throws(TensorError) -> Tensor {
        try head(body(ids, causal: true))
    }

    /// The mean cross-entropy of predicting `targets` (int32 [batch, length]; `ignoreIndex`
    /// positions do not count) from `ids`.
    public func loss(_ ids: Tensor, targets: Tensor, ignoreIndex: Int32 = -100) throws(TensorError) -> Tensor {
        let scores = try logits(ids)
        return try softmaxCrossEntropy(logits: scores.reshaped([-1, body.configuration.vocabulary]),
                                       labels: targets.reshaped([-1]), ignoreIndex: ignoreIndex)
    }

    public func setTraining(_ training: Bool) { body.setTraining(training) }

    public var namedParameters: [(name: String, tensor: Tensor)] {
        body.namedParameters + head.namedParameters.map { ("head.\($0.name)", $0.tensor) }
    }
}

/// A BERT-style sequence classifier: a ``TransformerEncoder``, masked mean pooling over the
/// real tokens (``meanPool(_:mask:)``) and a linear head over the classes. Parameters are the
/// body's names plus "head.weight" and "head.bias".
///
/// ```swift
/// let model = try SequenceClassifier(config, classes: 4, seed: 1, on: .cpu)
/// let loss = try model.loss(ids, attentionMask: mask, labels: topics)
/// ```
public struct SequenceClassifier: Module {
    public let body: TransformerEncoder
    public let head: Linear

    public init(_ configuration: TransformerConfiguration, classes: Int, seed: UInt64 = 0,
                on device: Device = .default) throws(TensorError) {
        body = try TransformerEncoder(configuration, seed: seed, on: device)
        head = try Linear(configuration.features, classes, inputStorage: configuration.saved.linearInputs,
                          seed: seed &+ 7, on: device)
    }

    /// A classifier on an existing (e.g. pretrained) `body`, with a new head on the body's
    /// device (weights drawn from `seed`, bias zero).
    ///
    /// ```swift
    /// let pretrained = try SentenceEmbedder(directory: ".cache/models/all-MiniLM-L6-v2", on: .cpu)
    /// let model = try SequenceClassifier(body: pretrained.encoder, classes: 8, seed: 1)
    /// ```
    public init(body: TransformerEncoder, classes: Int, seed: UInt64 = 0) throws(TensorError) {
        self.body = body
        head = try Linear(body.configuration.features, classes, seed: seed &+ 7, on: body.tokenEmbedding.weight.device)
    }

    /// Class logits [batch, classes] of int32 `ids` [batch, length] with `attentionMask`
    /// (1 real token, 0 padding).
    public func logits(_ ids: Tensor, attentionMask: Tensor) throws(TensorError) -> Tensor {
        try head(meanPool(body(ids, attentionMask: attentionMask), mask: attentionMask))
    }

    /// The mean cross-entropy of the int32 class `labels` [batch].
    public func loss(_ ids: Tensor, attentionMask: Tensor, labels: Tensor) throws(TensorError) -> Tensor {
        try softmaxCrossEntropy(logits: logits(ids, attentionMask: attentionMask), labels: labels)
    }

    public func setTraining(_ training: Bool) { body.setTraining(training) }

    public var namedParameters: [(name: String, tensor: Tensor)] {
        body.namedParameters + head.namedParameters.map { ("head.\($0.name)", $0.tensor) }
    }
}
