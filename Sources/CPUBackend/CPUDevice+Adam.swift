import TensorCore

extension CPUDevice {
    /// One Adam / AdamW update in place (the formulas of ``AdamStep``), parallel over chunks
    /// of elements.
    ///
    /// ```swift
    /// try cpu.adamUpdate(p, gradient: g, firstMoment: m, secondMoment: v, count: n,
    ///                    step: AdamStep(learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8,
    ///                                   weightDecay: 0.01, step: 1))
    /// ```
    public func adamUpdate(_ parameter: any BackendBuffer, gradient: any BackendBuffer, firstMoment: any BackendBuffer,
                           secondMoment: any BackendBuffer, count: Int, step: AdamStep) throws(TensorError) {
        let op = "adamUpdate"
        let pb = try cpuBuffer(parameter, op: op), gb = try cpuBuffer(gradient, op: op)
        let mb = try cpuBuffer(firstMoment, op: op), vb = try cpuBuffer(secondMoment, op: op)
        try require(pb, holds: count, op: op, role: "parameter")
        try require(gb, holds: count, op: op, role: "gradient")
        try require(mb, holds: count, op: op, role: "first moment")
        try require(vb, holds: count, op: op, role: "second moment")
        let p = pb.base, g = UnsafePointer(gb.base), m = mb.base, v = vb.base
        let decay = step.decayFactor, rate1 = 1 - step.beta1, beta2 = step.beta2, rate2 = 1 - step.beta2
        let stepSize = step.stepSize, root2 = step.correction2Root, epsilon = step.epsilon
        parallelFor(count: count, threads: threads, grain: Self.elementwiseGrain) { range in
            for i in range {
                let gradient = g[i]
                let moment = m[i] + rate1 * (gradient - m[i])
                let variance = beta2 * v[i] + rate2 * gradient * gradient
                m[i] = moment
                v[i] = variance
                p[i] = p[i] * decay - stepSize * moment / (variance.squareRoot() / root2 + epsilon)
            }
        }
    }
}
