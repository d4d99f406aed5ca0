import TensorCore

/// Layer normalisation over the last axis with a learned scale and shift
/// (``layerNorm(_:weight:bias:epsilon:)``), as `torch.nn.LayerNorm(features, eps)`: weight
/// starts at 1, bias at 0. Parameters "weight" and "bias".
///
/// ```swift
/// let norm = try LayerNorm(384, epsilon: 1e-12, on: .cpu)
/// let y = try norm(x)            // x [..., 384]
/// ```
public struct LayerNorm: Layer {
    public let weight: Tensor
    public let bias: Tensor
    public let epsilon: Float

    public init(_ features: Int, epsilon: Float = 1e-5, on device: Device = .default) throws(TensorError) {
        guard features > 0 else {
            throw .invalidArgument(op: "LayerNorm", reason: "features must be positive, got \(features)")
        }
        weight = try Tensor.ones([features], on: device).requiringGrad()
        bias = try Tensor.zeros([features], on: device).requiringGrad()
        self.epsilon = epsilon
    }

    public func callAsFunction(_ input: Tensor) throws(TensorError) -> Tensor {
        try layerNorm(input, weight: weight, bias: bias, epsilon: epsilon)
    }

    public var parameters: [Tensor] { [weight, bias] }
    public var namedParameters: [(name: String, tensor: Tensor)] { [("weight", weight), ("bias", bias)] }
}

/// Root-mean-square normalisation over the last axis with a learned scale
/// (``rmsNorm(_:weight:epsilon:)``), as `torch.nn.RMSNorm(features, eps)`: weight starts at 1.
/// Parameter "weight".
///
/// ```swift
/// let norm = try RMSNorm(384, epsilon: 1e-6, on: .cpu)
/// let y = try norm(x)
/// ```
public struct RMSNorm: Layer {
    public let weight: Tensor
    public let epsilon: Float

    public init(_ features: Int, epsilon: Float = 1e-6, on device: Device = .default) throws(TensorError) {
        guard features > 0 else {
            throw .invalidArgument(op: "RMSNorm", reason: "features must be positive, got \(features)")
        }
        weight = try Tensor.ones([features], on: device).requiringGrad()
        self.epsilon = epsilon
    }

    public func callAsFunction(_ input: Tensor) throws(TensorError) -> Tensor {
        try rmsNorm(input, weight: weight, epsilon: epsilon)
    }

    public var parameters: [Tensor] { [weight] }
    public var namedParameters: [(name: String, tensor: Tensor)] { [("weight", weight)] }
}
