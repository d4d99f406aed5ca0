import TensorCore

/// Inverted dropout (``dropout(_:probability:seed:training:)``) as `torch.nn.Dropout`: in
/// training each element is zeroed with `probability` and the rest scaled by
/// `1 / (1 - probability)`; in evaluation (``Module/setTraining(_:)`` false) it is the
/// identity. Each call draws the next seed of its own sequence, so the mask is reproducible
/// from the starting seed and backward regenerates it instead of storing it. No parameters.
///
/// ```swift
/// let drop = try Dropout(probability: 0.1, seed: 7)
/// let y = try drop(x)          // training
/// drop.setTraining(false)
/// let z = try drop(x)          // z is x
/// ```
public struct Dropout: Layer {
    public let probability: Float
    private let state: LockedValue<(nextSeed: UInt64, training: Bool)>

    public init(probability: Float, seed: UInt64 = 0) throws(TensorError) {
        guard probability >= 0, probability <= 1 else {
            throw .invalidArgument(op: "Dropout", reason: "probability must be in [0, 1], got \(probability)")
        }
        self.probability = probability
        state = LockedValue((seed, true))
    }

    public func callAsFunction(_ input: Tensor) throws(TensorError) -> Tensor {
        let (seed, training) = state.withLock { value in
            defer { value.nextSeed &+= 1 }
            return (value.nextSeed, value.training)
        }
        guard training, probability > 0 else { return input }
        return try dropout(input, probability: probability, seed: seed)
    }

    /// Whether calls drop (training) or pass the input through (evaluation).
    public var isTraining: Bool { state.withLock { $0.training } }

    public func setTraining(_ training: Bool) {
        state.withLock { $0.training = training }
    }

    public var parameters: [Tensor] { [] }
    public var namedParameters: [(name: String, tensor: Tensor)] { [] }
}
