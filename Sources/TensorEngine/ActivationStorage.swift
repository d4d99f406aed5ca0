import TensorCore

/// How an op stores a float tensor it keeps for backward (a linear layer's input, a
/// normalisation's input or output, attention's query, key and value, softmax's output).
///
/// - `float32`: the tensor itself (4 bytes per element); the backward is exact.
/// - `int8(groupSize:)`: Mesa's 8-bit storage. Each row of the tensor's last axis is cut into
///   groups of `groupSize` elements; a group keeps `scale = max|x| / 127` (float32) and
///   `roundEven(x / scale)` as int8 (``GroupQuantization`` has the exact rules). About 4x less:
///   1 byte per element plus 4 bytes per group (1.06 bytes per element with groups of 64).
///   The forward is untouched; the backward is the exact backward evaluated at the
///   dequantised tensor `code * scale`, each element of which is within `scale / 2` of the
///   original. ``mesa`` is groups of 64.
///
/// ```swift
/// let h = try linear(x, weight: w, bias: b, inputStorage: .int8(groupSize: 64))
/// let layer = try Linear(384, 1536, activation: .gelu, inputStorage: .mesa, on: .cpu)
/// ```
public enum ActivationStorage: Sendable, Hashable, CustomStringConvertible {
    case float32
    case int8(groupSize: Int)

    /// Mesa's 8-bit storage in groups of 64 elements along the last axis.
    public static let mesa = ActivationStorage.int8(groupSize: 64)

    public var description: String {
        switch self {
        case .float32: return "float32"
        case let .int8(groupSize): return "int8/\(groupSize)"
        }
    }

    /// Throws unless an int8 group size is at least 1.
    func validate(op: String) throws(TensorError) {
        if case let .int8(groupSize) = self, groupSize < 1 {
            throw .invalidArgument(op: op, reason: "int8 storage needs a group size of at least 1, got \(groupSize)")
        }
    }
}

/// What a LayerNorm or RMSNorm keeps for backward.
///
/// - `input`: its input x and the per-row statistics (LayerNorm: mean and 1/std; RMSNorm: 1/rms).
/// - `output`: memory-sharing normalisation (Approx-BP's MS-LN): its output y and the per-row
///   1/std only. The backward recovers `x_hat = (y - bias) / weight`, so the tensor the norm
///   keeps is the one the next linear layer keeps as its input: one buffer, counted once by
///   ``Tensor/retainedBytesByOp()``. Where `weight[c] == 0`, x_hat of column c is not
///   recoverable from y and is taken as 0: that column's weight gradient is then 0 and its
///   input gradient lacks the term `-rstd * x_hat[c] * mean(g * x_hat)`; every other column's
///   gradients are unaffected (column c's `g = dy * weight` is 0, so it adds nothing to the
///   row sums). Precision: y holds `x_hat * weight + bias` in float32, so x_hat recovered from
///   it carries an absolute error of about `ulp(|bias|) / |weight|`; with weight near 1 and bias
///   near 0 (a trained transformer's norms) it is float32 rounding.
///
/// ```swift
/// let y = try layerNorm(x, weight: g, bias: b, epsilon: 1e-12, memory: .output)
/// let norm = try LayerNorm(384, epsilon: 1e-12, memory: .output, on: .cpu)
/// ```
public enum NormalizationMemory: Sendable, Hashable, CustomStringConvertible {
    case input
    case output

    public var description: String {
        switch self {
        case .input: return "input"
        case .output: return "output (memory-sharing)"
        }
    }
}

/// What every op of a transformer keeps for backward, per kind of op: the linear layers'
/// inputs, the normalisations, the fused attention (the activation function's own state is
/// ``ActivationMemory``, ``TransformerConfiguration/memory``).
///
/// Presets: ``exact``; ``mesa(groupSize:)`` (everything in 8 bits); ``memorySharing``
/// (normalisations keep their output, shared with the next linear layer's input);
/// ``memorySharingMesa(groupSize:)`` (both: the norm's 8-bit output is the next linear
/// layer's 8-bit input, one set of codes).
///
/// ```swift
/// var config = TransformerConfiguration(vocabulary: 96, features: 64, heads: 4, layers: 2, feedForward: 256,
///                                       maxLength: 64, normPlacement: .pre, dropout: 0)
/// config.saved = .memorySharingMesa(groupSize: 64)
/// let model = try CausalLanguageModel(config, seed: 1, on: .cpu)
/// ```
public struct SavedActivations: Sendable, Hashable, CustomStringConvertible {
    /// The input of every ``Linear`` (query, key, value, output, feed-forward up and down).
    public var linearInputs: ActivationStorage
    /// Whether normalisations keep their input or their output.
    public var normalization: NormalizationMemory
    /// How normalisations store the tensor they keep.
    public var normalizationStorage: ActivationStorage
    /// How the fused attention stores query, key and value (int8: it keeps nothing else and
    /// recomputes its output and log-sum-exp in backward; see
    /// ``scaledDotProductAttention(query:key:value:mask:causal:scale:storage:)``).
    public var attention: ActivationStorage

    public init(linearInputs: ActivationStorage = .float32, normalization: NormalizationMemory = .input,
                normalizationStorage: ActivationStorage = .float32, attention: ActivationStorage = .float32) {
        self.linearInputs = linearInputs
        self.normalization = normalization
        self.normalizationStorage = normalizationStorage
        self.attention = attention
    }

    /// Everything kept in float32; normalisations keep their input.
    public static let exact = SavedActivations()

    /// Mesa: linear inputs, normalisation inputs and attention's q, k, v in 8 bits.
    public static func mesa(groupSize: Int = 64) -> SavedActivations {
        let storage = ActivationStorage.int8(groupSize: groupSize)
        return SavedActivations(linearInputs: storage, normalizationStorage: storage, attention: storage)
    }

    /// MS-LN: normalisations keep their output (shared with the next linear layer's input).
    public static let memorySharing = SavedActivations(normalization: .output)

    /// MS-LN and Mesa together: normalisations keep their output in 8 bits, and the next
    /// linear layer's 8-bit input is that same set of codes.
    public static func memorySharingMesa(groupSize: Int = 64) -> SavedActivations {
        let storage = ActivationStorage.int8(groupSize: groupSize)
        return SavedActivations(linearInputs: storage, normalization: .output, normalizationStorage: storage,
                                attention: storage)
    }

    public var description: String {
        "linear inputs \(linearInputs), normalization \(normalization) \(normalizationStorage), attention \(attention)"
    }
}
