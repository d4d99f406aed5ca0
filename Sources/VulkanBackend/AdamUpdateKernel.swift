import TensorCore

extension VulkanDevice {
    /// One Adam / AdamW update in place (Shaders/adam_update.comp; the formulas of ``AdamStep``).
    ///
    /// ```swift
    /// try gpu.adamUpdate(p, gradient: g, firstMoment: m, secondMoment: v, count: n,
    ///                    step: AdamStep(learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8,
    ///                                   weightDecay: 0.01, step: 1))
    /// ```
    public func adamUpdate(_ parameter: any BackendBuffer, gradient: any BackendBuffer, firstMoment: any BackendBuffer,
                           secondMoment: any BackendBuffer, count: Int, step: AdamStep) throws(TensorError) {
        let op = "adamUpdate"
        let p = try buffer(parameter, op), g = try buffer(gradient, op)
        let m = try buffer(firstMoment, op), v = try buffer(secondMoment, op)
        guard count > 0 else { return }
        guard count <= p.elementCount, count <= g.elementCount, count <= m.elementCount, count <= v.elementCount else {
            throw .invalidArgument(op: op, reason: "\(count) elements do not fit the buffers")
        }
        var push = PushConstants()
        push.append(count)
        for value in [step.decayFactor, 1 - step.beta1, step.beta2, 1 - step.beta2, step.stepSize,
                      step.correction2Root, step.epsilon] {
            push.append(value)
        }
        try dispatch(.adamUpdate, buffers: [(p, .readWrite), (g, .read), (m, .readWrite), (v, .readWrite)],
                     push: push, groups: elementwiseGroups(count))
    }
}
