import TensorCore

/// Layer normalisation over the last axis with a learned scale and shift
/// (``layerNorm(_:weight:bias:epsilon:)``), as `torch.nn.LayerNorm(features, eps)`: weight
/// starts at 1, bias at 0. Parameters "weight" and "bias".
///
/// What backward keeps: its input or (`memory: .output`, memory-sharing) its output, in
/// float32 or Mesa's 8 bits (`storage`); see ``layerNorm(_:weight:bias:epsilon:memory:storage:)``.
///
/// ```swift
/// let norm = try LayerNorm(384, epsilon: 1e-12, on: .cpu)
/// let y = try norm(x)            // x [..., 384]
/// let shared = try LayerNorm(384, epsilon: 1e-12, memory: .output, storage: .mesa, on: .cpu)
/// ```
public struct LayerNorm: Layer {
    public let weight: Tensor
    public let bias: Tensor
    public let epsilon: Float
    /// Whether backward keeps the input or the output (``NormalizationMemory``).
    public let memory: NormalizationMemory
    /// How the kept tensor is stored (``ActivationStorage``).
    public let storage: ActivationStorage

    public init(_ features: Int, epsilon: Float = 1e-5, memory: NormalizationMemory = .input,
                storage: ActivationStorage = .float32, on device: Device = .default) throws(TensorError) {
        guard features > 0 else {
            throw .invalidArgument(op: "LayerNorm", reason: "features must be positive, got \(features)")
        }
        try storage.validate(op: "LayerNorm")
        weight = try Tensor.ones([features], on: device).requiringGrad()
        bias = try Tensor.zeros([features], on: device).requiringGrad()
        self.epsilon = epsilon
        self.memory = memory
        self.storage = storage
    }

    public func callAsFunction(_ input: Tensor) throws(TensorError) -> Tensor {
        try layerNorm(input, weight: weight, bias: bias, epsilon: epsilon, memory: memory, storage: storage)
    }

    public var parameters: [Tensor] { [weight, bias] }
    public var namedParameters: [(name: String, tensor: Tensor)] { [("weight", weight), ("bias", bias)] }
}

/// Root-mean-square normalisation over the last axis with a learned scale
/// (``rmsNorm(_:weight:epsilon:)``), as `torch.nn.RMSNorm(features, eps)`: weight starts at 1.
/// Parameter "weight". `memory` and `storage` choose what backward keeps, as ``LayerNorm``'s.
///
/// ```swift
/// let norm = try RMSNorm(384, epsilon: 1e-6, on: .cpu)
/// let y = try norm(x)
/// let shared = try RMSNorm(384, epsilon: 1e-6, memory: .output, on: .cpu)
/// ```
public struct RMSNorm: Layer {
    public let weight: Tensor
    public let epsilon: Float
    /// Whether backward keeps the input or the output (``NormalizationMemory``).
    public let memory: NormalizationMemory
    /// How the kept tensor is stored (``ActivationStorage``).
    public let storage: ActivationStorage

    public init(_ features: Int, epsilon: Float = 1e-6, memory: NormalizationMemory = .input,
                storage: ActivationStorage = .float32, on device: Device = .default) throws(TensorError) {
        guard features > 0 else {
            throw .invalidArgument(op: "RMSNorm", reason: "features must be positive, got \(features)")
        }
        try storage.validate(op: "RMSNorm")
        weight = try Tensor.ones([features], on: device).requiringGrad()
        self.epsilon = epsilon
        self.memory = memory
        self.storage = storage
    }

    public func callAsFunction(_ input: Tensor) throws(TensorError) -> Tensor {
        try rmsNorm(input, weight: weight, epsilon: epsilon, memory: memory, storage: storage)
    }

    public var parameters: [Tensor] { [weight] }
    public var namedParameters: [(name: String, tensor: Tensor)] { [("weight", weight)] }
}
