import TensorCore

/// Layer normalisation over the last axis, as `torch.nn.functional.layer_norm` with
/// `normalized_shape = [x.shape.last]`: for each row (every index of the other axes),
/// `y = (x - mean) / sqrt(var + epsilon) * weight + bias` with the biased variance (divided by
/// the row length). `weight` and `bias`, of shape `[x.shape.last]`, are optional (1 and 0).
///
/// One fused kernel per backend computes the row statistics (a corrected two-pass, so rows
/// with a large mean lose no precision) and the output; backward is one fused kernel too,
/// plus a fixed-order column sum for the weight's and bias's gradients (no float atomics:
/// the same gradients every run). Any rank >= 1; a strided view is copied to contiguous first.
///
/// What backward keeps (``NormalizationMemory`` and ``ActivationStorage``), as
/// `retainedBytesByOp()` reports it:
/// - `.input`, `.float32` (the default): x ("layerNorm input") and the per-row mean and 1/std
///   ("layerNorm statistics"); the exact backward.
/// - `.input`, `.int8`: x's 8-bit codes and scales only ("layerNorm input (int8)"); backward
///   recomputes the statistics from the dequantised x~ and is the exact backward at x~.
/// - `.output`, `.float32` (memory-sharing): y ("layerNorm output": the very buffer the next
///   linear layer keeps as its input, counted once) and the per-row 1/std; backward recovers
///   `x_hat = (y - bias) / weight` (0 where weight is 0: see ``NormalizationMemory``).
/// - `.output`, `.int8`: y's 8-bit codes ("layerNorm output (int8)", the same codes a
///   following linear layer with int8 input storage and the same group size keeps) and 1/std;
///   the memory-sharing backward from the dequantised y~.
///
/// ```swift
/// let x = try Tensor.randn([2, 5, 384], seed: 1, on: .cpu)
/// let g = try Tensor.ones([384], on: .cpu).requiringGrad()
/// let b = try Tensor.zeros([384], on: .cpu).requiringGrad()
/// let y = try layerNorm(x, weight: g, bias: b, epsilon: 1e-12)   // [2, 5, 384]
/// let shared = try layerNorm(x, weight: g, bias: b, epsilon: 1e-12, memory: .output, storage: .mesa)
/// ```
///
/// A float16 or bfloat16 `x` gives a result of its type: read as stored, normalised in
/// float32 and rounded once (the Vulkan kernel's 16-bit variant, or casts around the float32
/// kernel). Weight and bias are used as float32. When a gradient is recorded, the input is
/// cast to float32 first, so backward is the float32 graph between casts.
///
/// ```swift
/// let h = try layerNorm(x.cast(to: .bfloat16), weight: g, bias: b, epsilon: 1e-5)   // bfloat16
/// ```
public func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, epsilon: Float, memory: NormalizationMemory = .input,
                      storage: ActivationStorage = .float32) throws(TensorError) -> Tensor {
    try Normalization.run("layerNorm", x, weight: weight, bias: bias, epsilon: epsilon, centered: true,
                          memory: memory, storage: storage)
}

/// RMS normalisation over the last axis, as `torch.nn.functional.rms_norm` with
/// `normalized_shape = [x.shape.last]`: `y = x / sqrt(mean(x^2) + epsilon) * weight` per row,
/// with the optional `weight` of shape `[x.shape.last]` (1 when nil).
///
/// One fused kernel forward and one backward (plus the weight gradient's fixed-order column
/// sum) per backend; backward keeps `x` and the per-row 1/rms, or as `memory` and `storage`
/// say (the four modes of ``layerNorm(_:weight:bias:epsilon:memory:storage:)``, reported as
/// "rmsNorm input", "rmsNorm output", "rmsNorm statistics", with " (int8)" for 8-bit codes).
/// Any rank >= 1; a strided view is copied to contiguous first.
///
/// ```swift
/// let x = try Tensor.randn([8, 512], seed: 1, on: .cpu)
/// let g = try Tensor.ones([512], on: .cpu).requiringGrad()
/// let y = try rmsNorm(x, weight: g, epsilon: 1e-6)
/// let shared = try rmsNorm(x, weight: g, epsilon: 1e-6, memory: .output)
/// ```
///
/// A float16 or bfloat16 `x` gives a result of its type, as for ``layerNorm(_:weight:bias:epsilon:memory:storage:)``.
///
/// ```swift
/// let h = try rmsNorm(x.cast(to: .float16), weight: g, epsilon: 1e-6)   // float16
/// ```
public func rmsNorm(_ x: Tensor, weight: Tensor?, epsilon: Float, memory: NormalizationMemory = .input,
                    storage: ActivationStorage = .float32) throws(TensorError) -> Tensor {
    try Normalization.run("rmsNorm", x, weight: weight, bias: nil, epsilon: epsilon, centered: false,
                          memory: memory, storage: storage)
}

enum Normalization {
    static func run(_ op: String, _ x: Tensor, weight: Tensor?, bias: Tensor?, epsilon: Float, centered: Bool,
                    memory: NormalizationMemory, storage: ActivationStorage) throws(TensorError) -> Tensor {
        try ReducedPrecision.requireFloatingPoint(op, x)
        if ReducedPrecision.recordsGradient([x, weight, bias]) {
            // The float32 graph between casts: each cast's gradient is cast back.
            let wide = try run(op, ReducedPrecision.widened(x),
                               weight: weight.map { (w) throws(TensorError) in try ReducedPrecision.widened(w) },
                               bias: bias.map { (b) throws(TensorError) in try ReducedPrecision.widened(b) },
                               epsilon: epsilon, centered: centered, memory: memory, storage: storage)
            return try wide.cast(to: x.dtype)
        }
        try storage.validate(op: op)
        guard x.rank >= 1 else { throw .invalidShape(op: op, shape: x.shape, reason: "needs at least one axis") }
        guard epsilon.isFinite, epsilon >= 0 else {
            throw .invalidArgument(op: op, reason: "epsilon \(epsilon) must be finite and not negative")
        }
        let columns = x.shape[x.rank - 1]
        for (name, parameter) in [("weight", weight), ("bias", bias)] {
            guard let parameter else { continue }
            try OpSupport.sameDevice(op, x, parameter)
            try ReducedPrecision.requireFloatingPoint(op + " " + name, parameter)
            guard parameter.shape == [columns] else {
                throw .shapeMismatch(op: op, lhs: x.shape, rhs: parameter.shape,
                                     reason: "\(name) must have the shape [\(columns)] of the input's last axis")
            }
        }
        let rows = x.elementCount / max(columns, 1)
        let input = try x.detached().contiguous()
        // Weight and bias as float32 (16-bit ones arrive here only when no gradient is recorded).
        let w = try weight.map { (w) throws(TensorError) in try ReducedPrecision.widened(w.detached()).contiguous() }
        let b = try bias.map { (b) throws(TensorError) in try ReducedPrecision.widened(b.detached()).contiguous() }
        let types = OperandTypes(a: x.dtype, c: x.dtype)
        let out = Tensor(storage: try x.device.backend.makeBuffer(count: x.elementCount, dtype: x.dtype), shape: x.shape,
                         dtype: x.dtype, device: x.device)
        let mean = centered ? try OpSupport.output([rows], on: x.device) : nil
        let rstd = try OpSupport.output([rows], on: x.device)
        if out.elementCount > 0 {
            let forward: BackendOp = centered
                ? .layerNorm(input: input.storage, weight: w?.storage, bias: b?.storage, rows: rows, columns: columns,
                             epsilon: epsilon, output: out.storage, mean: mean!.storage, rstd: rstd.storage,
                             types: types)
                : .rmsNorm(input: input.storage, weight: w?.storage, rows: rows, columns: columns, epsilon: epsilon,
                           output: out.storage, rstd: rstd.storage, types: types)
            try x.device.backend.run(forward)
        }
        let parameters = [weight, bias].compactMap { $0 }
        let recording = !GradMode.disabled && ([x] + parameters).contains { $0.requiresGrad }
        guard recording else { return out }
        let wantsWeight = weight?.requiresGrad ?? false, wantsBias = bias?.requiresGrad ?? false
        let shape = NormShape(rows: rows, columns: columns, epsilon: epsilon, centered: centered)
        let (hasWeight, hasBias) = (weight != nil, bias != nil)
        @Sendable func gradients(_ grads: (input: Tensor, weight: Tensor?, bias: Tensor?)) -> [Tensor?] {
            [grads.input] + (hasWeight ? [grads.weight] : []) + (hasBias ? [grads.bias] : [])
        }
        switch (memory, storage) {
        case (.input, .float32):
            var retained = [RetainedStorage(input, label: op + " input"), RetainedStorage(rstd, label: op + " statistics")]
            if let mean { retained.append(RetainedStorage(mean, label: op + " statistics")) }
            return Autograd.record(op, out, inputs: [x] + parameters, retained: retained) { (g) throws(TensorError) in
                gradients(try backward(input: input, weight: w, gradOutput: g, mean: mean, rstd: rstd, shape: shape,
                                       gradWeight: wantsWeight, gradBias: wantsBias))
            }
        case (.input, .int8):
            let saved = try SavedTensor.save(x, storage)
            return Autograd.record(op, out, inputs: [x] + parameters, retained: saved.retained(label: op + " input")) { (g) throws(TensorError) in
                // The exact backward at the dequantised input, statistics recomputed from it.
                let restored = try saved.value()
                let statistics = try forward(restored, weight: w, bias: b, shape: shape)
                return gradients(try backward(input: restored, weight: w, gradOutput: g, mean: statistics.mean,
                                              rstd: statistics.rstd, shape: shape, gradWeight: wantsWeight,
                                              gradBias: wantsBias))
            }
        case (.output, _):
            let saved: SavedTensor
            if case let .int8(groupSize) = storage {
                saved = .int8(try QuantizedActivation.quantize(out, groupSize: groupSize))
            } else {
                saved = .float32(out)
            }
            let retained = saved.retained(label: op + " output") + [RetainedStorage(rstd, label: op + " statistics")]
            let result = Autograd.record(op, out, inputs: [x] + parameters, retained: retained) { (g) throws(TensorError) in
                gradients(try backwardFromOutput(output: try saved.value(), weight: w, bias: b, gradOutput: g, rstd: rstd,
                                                 shape: shape, gradWeight: wantsWeight, gradBias: wantsBias))
            }
            // A following op that keeps this output in 8 bits keeps these very codes.
            if case let .int8(form) = saved { result.gradState?.storeQuantized(form) }
            return result
        }
    }

    /// Rows, columns and the flavour of one normalisation call.
    struct NormShape {
        let rows: Int
        let columns: Int
        let epsilon: Float
        let centered: Bool
    }

    /// The forward's statistics of `input` (LayerNorm: mean and rstd; RMSNorm: rstd), its output dropped.
    static func forward(_ input: Tensor, weight: Tensor?, bias: Tensor?,
                        shape: NormShape) throws(TensorError) -> (mean: Tensor?, rstd: Tensor) {
        let device = input.device
        let out = try OpSupport.output(input.shape, on: device)
        let mean = shape.centered ? try OpSupport.output([shape.rows], on: device) : nil
        let rstd = try OpSupport.output([shape.rows], on: device)
        if out.elementCount > 0 {
            try device.backend.run(shape.centered
                ? .layerNorm(input: input.storage, weight: weight?.storage, bias: bias?.storage, rows: shape.rows,
                             columns: shape.columns, epsilon: shape.epsilon, output: out.storage, mean: mean!.storage,
                             rstd: rstd.storage)
                : .rmsNorm(input: input.storage, weight: weight?.storage, rows: shape.rows, columns: shape.columns,
                           epsilon: shape.epsilon, output: out.storage, rstd: rstd.storage))
        }
        return (mean, rstd)
    }

    /// The memory-sharing backward from the forward's output (``BackendOp/normBackwardFromOutput``).
    static func backwardFromOutput(output: Tensor, weight: Tensor?, bias: Tensor?, gradOutput: Tensor, rstd: Tensor,
                                   shape: NormShape, gradWeight: Bool,
                                   gradBias: Bool) throws(TensorError) -> (input: Tensor, weight: Tensor?, bias: Tensor?) {
        let device = output.device
        let dy = try gradOutput.contiguous()
        let dx = try OpSupport.output(output.shape, on: device)
        let dw = gradWeight ? try OpSupport.output([shape.columns], on: device) : nil
        let db = gradBias ? try OpSupport.output([shape.columns], on: device) : nil
        if shape.columns > 0 {
            try device.backend.run(.normBackwardFromOutput(
                output: output.storage, weight: weight?.storage, bias: bias?.storage, gradOutput: dy.storage,
                rstd: rstd.storage, rows: shape.rows, columns: shape.columns, centered: shape.centered,
                gradInput: dx.storage, gradWeight: dw?.storage, gradBias: db?.storage))
        }
        return (dx, dw, db)
    }

    static func backward(input: Tensor, weight: Tensor?, gradOutput: Tensor, mean: Tensor?, rstd: Tensor,
                         shape: NormShape, gradWeight: Bool,
                         gradBias: Bool) throws(TensorError) -> (input: Tensor, weight: Tensor?, bias: Tensor?) {
        let (rows, columns) = (shape.rows, shape.columns)
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
