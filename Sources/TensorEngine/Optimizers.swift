import Foundation
import TensorCore

/// Updates parameters in place from their `.grad`.
public protocol Optimizer: AnyObject {
    var parameters: [Tensor] { get }
    /// One update of every parameter that has a gradient.
    func step() throws(TensorError)
}

extension Optimizer {
    /// Clears every parameter's gradient (call before each backward).
    public func zeroGrad() {
        for parameter in parameters { parameter.clearGrad() }
    }
}

extension Tensor {
    /// Overwrites this (contiguous) tensor's storage with `values` of the same shape; used by
    /// optimisers. Tensors sharing the storage see the new values.
    func assign(_ values: Tensor) throws(TensorError) {
        guard values.shape == shape, isContiguous else {
            throw .shapeMismatch(op: "assign", lhs: shape, rhs: values.shape, reason: "in-place update needs equal shapes and contiguous storage")
        }
        guard values.dtype == dtype else {
            throw .invalidArgument(op: "assign", reason: "the values are \(values.dtype), the tensor \(dtype)")
        }
        guard elementCount > 0 else { return }
        let source = try values.contiguous()
        let layout = StridedLayout(shape: [elementCount], strides: [1])
        if dtype == .float32 {
            try device.backend.run(.copyStrided(source: source.storage, layout: layout, destination: storage))
        } else {
            // A cast between equal types is a copy of any element size.
            try device.backend.run(.cast(source: source.storage, sourceType: dtype, layout: layout,
                                         destination: storage, destinationType: dtype))
        }
    }
}

/// Stochastic gradient descent with momentum: v = momentum * v + g; p -= lr * v.
///
/// ```swift
/// let optimizer = SGD(parameters: model.parameters, learningRate: 0.1, momentum: 0.9)
/// optimizer.zeroGrad(); try loss.backward(); try optimizer.step()
/// ```
public final class SGD: Optimizer {
    public let parameters: [Tensor]
    public var learningRate: Float
    public let momentum: Float
    private var velocities: [ObjectIdentifier: Tensor] = [:]

    public init(parameters: [Tensor], learningRate: Float, momentum: Float = 0) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
    }

    public func step() throws(TensorError) {
        try withNoGrad { () throws(TensorError) in
            for parameter in parameters {
                guard let gradient = parameter.grad else { continue }
                var update = gradient
                if momentum != 0 {
                    let key = ObjectIdentifier(parameter)
                    update = try velocities[key].map { (v) throws(TensorError) in try v * momentum + gradient } ?? gradient
                    velocities[key] = update
                }
                try parameter.assign(try parameter - update * learningRate)
            }
        }
    }
}

/// Adam (Kingma & Ba): bias-corrected first and second moment estimates, one fused update
/// per parameter (``BackendOp/adamUpdate(parameter:gradient:firstMoment:secondMoment:count:step:)``),
/// as `torch.optim.Adam` without weight decay. For decoupled weight decay use ``AdamW``.
///
/// ```swift
/// let optimizer = Adam(parameters: model.parameters, learningRate: 1e-3)
/// optimizer.zeroGrad(); try loss.backward(); try optimizer.step()
/// ```
public final class Adam: Optimizer {
    public var parameters: [Tensor] { moments.parameters }
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float
    private let moments: AdamMoments

    public init(parameters: [Tensor], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8) {
        moments = AdamMoments(parameters: parameters)
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }

    public func step() throws(TensorError) {
        try moments.update { steps in
            AdamStep(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: 0, step: steps)
        }
    }
}
