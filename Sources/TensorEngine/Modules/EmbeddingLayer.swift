import TensorCore

/// A learned lookup table: int32 indices of any shape -> their rows of `weight` [count, features]
/// (``embedding(_:weight:)``), as `torch.nn.Embedding`: weights start normal(0, 1), or
/// `std` as given (BERT and GPT-2 use 0.02). Parameter "weight".
///
/// ```swift
/// let table = try Embedding(30522, 384, std: 0.02, seed: 1, on: .cpu)
/// let vectors = try table(ids)   // ids int32 [batch, length] -> [batch, length, 384]
/// ```
public struct Embedding: Layer {
    public let weight: Tensor

    public init(_ count: Int, _ features: Int, std: Float = 1, seed: UInt64 = 0,
                on device: Device = .default) throws(TensorError) {
        guard count > 0, features > 0 else {
            throw .invalidArgument(op: "Embedding", reason: "count and features must be positive, got \(count) x \(features)")
        }
        weight = try ModuleInitialization.normal([count, features], std: std, seed: seed, on: device).requiringGrad()
    }

    public func callAsFunction(_ indices: Tensor) throws(TensorError) -> Tensor {
        try embedding(indices, weight: weight)
    }

    public var parameters: [Tensor] { [weight] }
    public var namedParameters: [(name: String, tensor: Tensor)] { [("weight", weight)] }
}
