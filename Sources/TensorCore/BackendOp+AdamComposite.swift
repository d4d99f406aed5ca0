/// The composite of ``BackendOp/adamUpdate(parameter:gradient:firstMoment:secondMoment:count:step:)``:
/// the update's formulas (``AdamStep``) as broadcast binary ops and a square root on
/// temporaries, then three copies back into the parameter and the moments.
extension BackendOp {
    static func adamComposite(
        parameter: any BackendBuffer, gradient: any BackendBuffer, firstMoment: any BackendBuffer,
        secondMoment: any BackendBuffer, count: Int, step: AdamStep,
        temporary: (Int) throws(TensorError) -> any BackendBuffer
    ) throws(TensorError) -> [BackendOp] {
        guard count > 0 else { return [] }
        let flat = StridedLayout.contiguous([count])
        let scalar = StridedLayout(shape: [count], strides: [0])
        var ops: [BackendOp] = []
        func constant(_ value: Float) throws(TensorError) -> any BackendBuffer {
            let buffer = try temporary(1)
            ops.append(.fill(buffer, value: value, count: 1))
            return buffer
        }
        func apply(_ op: BinaryOp, _ a: any BackendBuffer, _ b: any BackendBuffer, bIsScalar: Bool)
            throws(TensorError) -> any BackendBuffer {
            let output = try temporary(count)
            ops.append(.binary(op, a: a, aLayout: flat, b: b, bLayout: bIsScalar ? scalar : flat, output: output))
            return output
        }
        // m = m + (1 - beta1) * (g - m)
        let moment = try apply(.add, firstMoment,
                               try apply(.mul, try apply(.sub, gradient, firstMoment, bIsScalar: false),
                                         try constant(1 - step.beta1), bIsScalar: true),
                               bIsScalar: false)
        // v = beta2 * v + (1 - beta2) * g * g
        let square = try apply(.mul, try apply(.mul, gradient, gradient, bIsScalar: false),
                               try constant(1 - step.beta2), bIsScalar: true)
        let variance = try apply(.add, try apply(.mul, secondMoment, try constant(step.beta2), bIsScalar: true),
                                 square, bIsScalar: false)
        // denominator = sqrt(v) / sqrt(correction2) + epsilon
        let root = try temporary(count)
        ops.append(.unary(.sqrt, input: variance, layout: flat, output: root))
        let denominator = try apply(.add, try apply(.div, root, try constant(step.correction2Root), bIsScalar: true),
                                    try constant(step.epsilon), bIsScalar: true)
        // p = p * (1 - lr * wd) - stepSize * m / denominator
        let update = try apply(.mul, try apply(.div, moment, denominator, bIsScalar: false),
                               try constant(step.stepSize), bIsScalar: true)
        let decayed = try apply(.mul, parameter, try constant(step.decayFactor), bIsScalar: true)
        let updated = try apply(.sub, decayed, update, bIsScalar: false)
        ops.append(.copyStrided(source: moment, layout: flat, destination: firstMoment))
        ops.append(.copyStrided(source: variance, layout: flat, destination: secondMoment))
        ops.append(.copyStrided(source: updated, layout: flat, destination: parameter))
        return ops
    }
}
