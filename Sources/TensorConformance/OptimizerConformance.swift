import TensorCore

/// Conformance of `adamUpdate`: the updated parameter and both moments against the float64
/// formulas of ``AdamStep``, at the first and a later step, with and without decoupled weight
/// decay, at 1, prime and multi-workgroup sizes (and again as its composite).
extension ConformanceTable {
    static func adamUpdateCases() -> [ConformanceCase] {
        [(1, "1"), (257, "prime"), (65_537, "large")].flatMap { count, shapeClass in
            [(1, Float(0)), (10, 0.01)].map { stepNumber, weightDecay in
                let step = AdamStep(learningRate: 1e-2, beta1: 0.9, beta2: 0.999, epsilon: 1e-8,
                                    weightDecay: weightDecay, step: stepNumber)
                return ConformanceCase(.adamUpdate, "adamUpdate step \(stepNumber) decay \(weightDecay)",
                                       shapeClass: shapeClass, shape: "[\(count)]", values: "normal, v >= 0",
                                       bound: activationBound) { (h) throws(TensorError) in
                    let p = h.values(count, "normal"), g = h.values(count, "normal")
                    let m = h.values(count, "normal", scale: 0.1)
                    let v = h.values(count, "normal", scale: 0.1).map { $0 * $0 }
                    var outputs: [GuardedOutput] = []
                    for initial in [p, m, v] {
                        let output = try h.output(count)
                        try h.run(.copyStrided(source: try h.input(initial), layout: .contiguous([count]),
                                               destination: output.buffer))
                        outputs.append(output)
                    }
                    try h.run(.adamUpdate(parameter: outputs[0].buffer, gradient: try h.input(g),
                                          firstMoment: outputs[1].buffer, secondMoment: outputs[2].buffer,
                                          count: count, step: step))
                    let reference = References.adam(parameter: p, gradient: g, firstMoment: m, secondMoment: v, step: step)
                    return .init(actual: try h.read(outputs[0]) + h.read(outputs[1]) + h.read(outputs[2]),
                                 reference: reference)
                }
            }
        }
    }
}

extension References {
    /// One Adam / AdamW step in float64 (``AdamStep``'s formulas): the new parameter, then m, then v.
    static func adam(parameter: [Float], gradient: [Float], firstMoment: [Float], secondMoment: [Float],
                     step: AdamStep) -> [Double] {
        let beta1 = Double(step.beta1), beta2 = Double(step.beta2), rate = Double(step.learningRate)
        let root2 = Double(step.correction2).squareRoot()
        var p: [Double] = [], m: [Double] = [], v: [Double] = []
        for i in parameter.indices {
            let g = Double(gradient[i])
            let moment = Double(firstMoment[i]) + (1 - beta1) * (g - Double(firstMoment[i]))
            let variance = beta2 * Double(secondMoment[i]) + (1 - beta2) * g * g
            let decayed = Double(parameter[i]) * (1 - rate * Double(step.weightDecay))
            p.append(decayed - rate / Double(step.correction1) * moment / (variance.squareRoot() / root2 + Double(step.epsilon)))
            m.append(moment)
            v.append(variance)
        }
        return p + m + v
    }
}
