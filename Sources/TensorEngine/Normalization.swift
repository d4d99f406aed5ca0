import TensorCore

/// Layer normalisation over the last axis, as `torch.nn.functional.layer_norm` with
/// `normalized_shape = [x.shape.last]`: for each row (every index of the other axes),
/// `y = (x - mean) / sqrt(var + epsilon) * weight + bias` with the biased variance (divided by
/// the row length). `weight` and `bias`, of shape `[x.shape.last]`, are optional (1 and 0).
///
/// One fused kernel per backend computes the row statistics (a corrected two-pass, so rows
/// with a large mean lose no precision) and the output; backward is one fused kernel too,
/// plus a fixed-order column sum for the weight's and bias's gradients (no float atomics:
/// the same gradients every run). Backward keeps `x` and the per-row mean and 1/std. Any
/// rank >= 1; a strided view is copied to contiguous first.
///
/// ```swift
/// let x = try Tensor.randn([2, 5, 384], seed: 1, on: .cpu)
/// let g = try Tensor.ones([384], on: .cpu).requiringGrad()
/// let b = try Tensor.zeros([384], on: .cpu).requiringGrad()
/// let y = try layerNorm(x, weight: g, bias: b, epsilon: 1e-12)   // [2, 5, 384]
/// ```
public func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, epsilon: Float) throws(TensorError) -> Tensor {
    try Normalization.run("layerNorm", x, weight: weight, bias: bias, epsilon: epsilon, centered: true)
}

/// RMS normalisation over the last axis, as `torch.nn.functional.rms_norm` with
/// `normalized_shape = [x.shape.last]`: `y = x / sqrt(mean(x^2) + epsilon) * weight` per row,
/// with the optional `weight` of shape `[x.shape.last]` (1 when nil).
///
/// One fused kernel forward and one backward (plus the weight gradient's fixed-order column
/// sum) per backend; backward keeps `x` and the per-row 1/rms. Any rank >= 1; a strided
/// view is copied to contiguous first.
///
/// ```swift
/// let x = try Tensor.randn([8, 512], seed: 1, on: .cpu)
/// let g = try Tensor.ones([512], on: .cpu).requiringGrad()
/// let y = try rmsNorm(x, weight: g, epsilon: 1e-6)
/// ```
public func rmsNorm(_ x: Tensor, weight: Tensor?, epsilon: Float) throws(TensorError) -> Tensor {
    try Normalization.run("rmsNorm", x, weight: weight, bias: nil, epsilon: epsilon, centered: false)
}

enum Normalization {
    static func run(_ op: String, _ x: Tensor, weight: Tensor?, bias: Tensor?, epsilon: Float,
                    centered: Bool) throws(TensorError) -> Tensor {
        try OpSupport.floats(op, x)
        guard x.rank >= 1 else { throw .invalidShape(op: op, shape: x.shape, reason: "needs at least one axis") }
        guard epsilon.isFinite, epsilon >= 0 else {
            throw .invalidArgument(op: op, reason: "epsilon \(epsilon) must be finite and not negative")
        }
        let columns = x.shape[x.rank - 1]
        for (name, parameter) in [("weight", weight), ("bias", bias)] {
            guard let parameter else { continue }
            try OpSupport.sameDevice(op, x, parameter)
            try OpSupport.floats(op + " " + name, parameter)
            guard parameter.shape == [columns] else {
                throw .shapeMismatch(op: op, lhs: x.shape, rhs: parameter.shape,
                                     reason: "\(name) must have the shape [\(columns)] of the input's last axis")
            }
        }
        let rows = x.elementCount / max(columns, 1)
        let input = try x.detached().contiguous()
        let w = try weight?.detached().contiguous(), b = try bias?.detached().contiguous()
        let out = try OpSupport.output(x.shape, on: x.device)
        let mean = centered ? try OpSupport.output([rows], on: x.device) : nil
        let rstd = try OpSupport.output([rows], on: x.device)
        if out.elementCount > 0 {
            let forward: BackendOp = centered
                ? .layerNorm(input: input.storage, weight: w?.storage, bias: b?.storage, rows: rows, columns: columns,
                             epsilon: epsilon, output: out.storage, mean: mean!.storage, rstd: rstd.storage)
                : .rmsNorm(input: input.storage, weight: w?.storage, rows: rows, columns: columns, epsilon: epsilon,
                           output: out.storage, rstd: rstd.storage)
            try x.device.backend.run(forward)
        }
        let parameters = [weight, bias].compactMap { $0 }
        let wantsWeight = weight?.requiresGrad ?? false, wantsBias = bias?.requiresGrad ?? false
        var retained = [RetainedStorage(input, label: op + " input"), RetainedStorage(rstd, label: op + " statistics")]
        if let mean { retained.append(RetainedStorage(mean, label: op + " statistics")) }
        return Autograd.record(op, out, inputs: [x] + parameters, retained: retained) { (g) throws(TensorError) in
            let grads = try backward(input: input, weight: w, gradOutput: g, mean: mean, rstd: rstd,
                                     rows: rows, columns: columns, gradWeight: wantsWeight, gradBias: wantsBias)
            var result: [Tensor?] = [grads.input]
            if weight != nil { result.append(grads.weight) }
            if bias != nil { result.append(grads.bias) }
            return result
        }
    }

    static func backward(input: Tensor, weight: Tensor?, gradOutput: Tensor, mean: Tensor?, rstd: Tensor,
                         rows: Int, columns: Int, gradWeight: Bool,
                         gradBias: Bool) throws(TensorError) -> (input: Tensor, weight: Tensor?, bias: Tensor?) {
        let device = input.device
        let dy = try gradOutput.contiguous()
        let dx = try OpSupport.output(input.shape, on: device)
        let dw = gradWeight ? try OpSupport.output([columns], on: device) : nil
        let db = gradBias ? try OpSupport.output([columns], on: device) : nil
        if columns > 0 {
            let backendOp: BackendOp = if let mean {
                .layerNormBackward(input: input.storage, weight: weight?.storage, gradOutput: dy.storage,
                                   mean: mean.storage, rstd: rstd.storage, rows: rows, columns: columns,
                                   gradInput: dx.storage, gradWeight: dw?.storage, gradBias: db?.storage)
            } else {
                .rmsNormBackward(input: input.storage, weight: weight?.storage, gradOutput: dy.storage,
                                 rstd: rstd.storage, rows: rows, columns: columns, gradInput: dx.storage,
                                 gradWeight: dw?.storage)
            }
            try device.backend.run(backendOp)
        }
        return (dx, dw, db)
    }
}
