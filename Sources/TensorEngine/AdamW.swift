import TensorCore

/// AdamW (Loshchilov & Hutter): Adam with decoupled weight decay, as `torch.optim.AdamW`
/// (same defaults: learning rate 1e-3, betas 0.9 and 0.999, epsilon 1e-8, weight decay
/// 0.01). Each parameter is first multiplied by `1 - learningRate * weightDecay`, then takes
/// the Adam step; the decay never enters the moments. One fused kernel per parameter
/// (``BackendOp/adamUpdate(parameter:gradient:firstMoment:secondMoment:count:step:)``).
///
/// Parameters that should not decay (biases, normalisation weights, as in BERT fine-tuning)
/// go in a second optimizer with `weightDecay: 0`.
///
/// ```swift
/// let optimizer = AdamW(parameters: model.parameters, learningRate: 5e-5, weightDecay: 0.01)
/// let schedule = try LearningRateSchedule(peak: 5e-5, warmupSteps: 100, totalSteps: 1000, decay: .linear)
/// for step in 0..<1000 {
///     optimizer.learningRate = schedule.rate(atStep: step)
///     optimizer.zeroGrad(); try loss.backward()
///     _ = try clipGradientNorm(optimizer.parameters, maxNorm: 1)
///     try optimizer.step()
/// }
/// ```
public final class AdamW: Optimizer {
    public var parameters: [Tensor] { moments.parameters }
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    private let moments: AdamMoments

    public init(parameters: [Tensor], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, weightDecay: Float = 0.01) {
        moments = AdamMoments(parameters: parameters)
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    public func step() throws(TensorError) {
        try moments.update { steps in
            AdamStep(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                     weightDecay: weightDecay, step: steps)
        }
    }
}

/// The state Adam and AdamW share: the parameters, both moments of each (allocated at its
/// first update, on its device) and the step count.
final class AdamMoments {
    let parameters: [Tensor]
    private var moments: [ObjectIdentifier: (m: Tensor, v: Tensor)] = [:]
    private var steps = 0

    init(parameters: [Tensor]) { self.parameters = parameters }

    /// One update of every parameter with a gradient, with the scalars `makeStep` gives for
    /// the new step count (counting from 1).
    func update(_ makeStep: (Int) -> AdamStep) throws(TensorError) {
        steps += 1
        let step = makeStep(steps)
        try withNoGrad { () throws(TensorError) in
            for parameter in parameters {
                guard let gradient = parameter.grad else { continue }
                guard parameter.isContiguous, parameter.dtype == .float32 else {
                    throw .invalidArgument(op: "adam", reason: "parameters must be contiguous float32 tensors (got \(parameter.dtype), shape \(parameter.shape))")
                }
                guard gradient.shape == parameter.shape else {
                    throw .shapeMismatch(op: "adam", lhs: parameter.shape, rhs: gradient.shape,
                                         reason: "the gradient's shape differs from the parameter's")
                }
                guard parameter.elementCount > 0 else { continue }
                let key = ObjectIdentifier(parameter)
                let state: (m: Tensor, v: Tensor)
                if let existing = moments[key] {
                    state = existing
                } else {
                    state = (try Tensor.zeros(parameter.shape, on: parameter.device),
                             try Tensor.zeros(parameter.shape, on: parameter.device))
                    moments[key] = state
                }
                let g = try gradient.contiguous()
                try parameter.device.backend.run(.adamUpdate(
                    parameter: parameter.storage, gradient: g.storage, firstMoment: state.m.storage,
                    secondMoment: state.v.storage, count: parameter.elementCount, step: step))
            }
        }
    }
}
