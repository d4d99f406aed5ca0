/// The scalars of one Adam / AdamW update (``BackendOp/adamUpdate(parameter:gradient:firstMoment:secondMoment:count:step:)``),
/// with the bias corrections of step t already computed on the host.
///
/// The update is PyTorch's `torch.optim.AdamW` (decoupled weight decay, Loshchilov & Hutter);
/// with `weightDecay` 0 it is `torch.optim.Adam`:
/// ```
/// p = p * (1 - learningRate * weightDecay)
/// m = m + (1 - beta1) * (g - m)
/// v = beta2 * v + (1 - beta2) * g * g
/// p = p - (learningRate / correction1) * m / (sqrt(v) / sqrt(correction2) + epsilon)
/// ```
/// with `correction1 = 1 - beta1^t` and `correction2 = 1 - beta2^t`.
///
/// ```swift
/// let step = AdamStep(learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, step: 1)
/// ```
public struct AdamStep: Sendable, Equatable {
    public var learningRate: Float
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    public var weightDecay: Float
    /// `1 - beta1^t`.
    public var correction1: Float
    /// `1 - beta2^t`.
    public var correction2: Float

    /// The scalars of update number `step` (counting from 1).
    public init(learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float, step: Int) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        correction1 = Float(1 - Self.power(Double(beta1), step))
        correction2 = Float(1 - Self.power(Double(beta2), step))
    }

    /// The factor the parameter is multiplied by before the update (decoupled weight decay).
    public var decayFactor: Float { 1 - learningRate * weightDecay }
    /// `learningRate / correction1`.
    public var stepSize: Float { learningRate / correction1 }
    /// `sqrt(correction2)`.
    public var correction2Root: Float { correction2.squareRoot() }

    private static func power(_ base: Double, _ exponent: Int) -> Double {
        var result = 1.0
        for _ in 0..<max(exponent, 0) { result *= base }
        return result
    }
}
