import TensorCore

/// A linear layer for slowly varying input streams that multiplies only what changed
/// (a delta network): `y_t ~= x_t * W + b` at a fraction of the multiply-accumulates.
///
/// The layer keeps `xRef`, the last transmitted value of each input, and the accumulator
/// `acc = xRef * W + b`. Each ``step(_:)``:
/// 1. `delta = x - xRef`, set to 0 where `|delta| < theta` (those inputs are not transmitted);
/// 2. `xRef[k] = x[k]` for the transmitted inputs only;
/// 3. `acc += delta * W` with the input-sparse kernel (``sparseMatmul(_:_:threshold:)``),
///    which reads only the weight rows of transmitted inputs;
/// 4. every `refreshInterval` steps, `acc = xRef * W + b` densely, removing float32
///    rounding drift.
///
/// Since every untransmitted input is within theta of its reference, each output's error
/// is at most `theta * sum_k |W[k, i]|` (the L1 norm of column i), plus float32 rounding,
/// at every step; it does not accumulate. ``macsDone`` counts the multiply-accumulates
/// actually performed (transmitted inputs x N, plus K x N per refresh and for the first
/// step) against ``macsDense`` (K x N per step).
///
/// Everything stays on the device: the reference, the deltas (one ``BackendOp/deltaUpdate``
/// kernel) and the accumulator; a step never waits for the device. The transmitted counts
/// are kept on the device too and read only when ``macsDone``, ``lastTransmitted`` or
/// ``transmittedInput`` is asked for. On the CPU the sparse product's dispatcher measures
/// the deltas as usual; on other devices measuring would wait for the device, so the
/// update takes the per-row path, the one that fits a stream's few changed inputs.
///
/// ```swift
/// let layer = try DeltaLinear(weight: w, bias: b, theta: 0.01, refreshInterval: 100)
/// for frame in frames {                 // each [K] or [B, K]
///     let y = try layer.step(frame)     // ~ frame * w + b
/// }
/// print(layer.macsSavedFraction)        // e.g. 0.9
/// ```
public final class DeltaLinear {
    /// [K, N].
    public let weight: Tensor
    /// [N] or nil.
    public let bias: Tensor?
    /// Changes smaller than this are not transmitted.
    public let theta: Float
    /// Steps between dense refreshes of the accumulator (0: never).
    public let refreshInterval: Int
    /// Steps taken so far.
    public private(set) var steps = 0
    /// Multiply-accumulates performed so far (sparse updates plus dense refreshes); reading it
    /// waits for the steps' transmitted counts on the device.
    public var macsDone: Int {
        resolveCounts()
        return resolvedMacs
    }
    /// Multiply-accumulates a dense layer would have performed: K * N * rows per step.
    public private(set) var macsDense = 0
    /// Inputs transmitted at the last step (waits for its count on the device).
    public var lastTransmitted: Int {
        resolveCounts()
        return resolvedLast
    }

    /// xRef on the device, updated in place by each step's delta kernel.
    private var reference: Tensor?
    private var inputShape: [Int] = []
    private var accumulator: Tensor?
    /// Multiply-accumulates known on the host, and the int32 transmitted count of each sparse
    /// update not yet read back.
    private var resolvedMacs = 0
    private var resolvedLast = 0
    /// (count, whether its inputs x N are multiply-accumulates done: not on refresh steps).
    private var pendingCounts: [(count: Tensor, countsMacs: Bool)] = []

    /// A layer computing `x * weight + bias`; `weight` is [K, N], `bias` [N].
    ///
    /// ```swift
    /// let layer = try DeltaLinear(weight: w, theta: 1e-3)
    /// ```
    public init(weight: Tensor, bias: Tensor? = nil, theta: Float, refreshInterval: Int = 100) throws(TensorError) {
        let op = "DeltaLinear"
        try OpSupport.floats(op, weight)
        guard weight.rank == 2 else { throw .invalidShape(op: op, shape: weight.shape, reason: "weight must be [K, N]") }
        if let bias {
            try OpSupport.sameDevice(op, weight, bias)
            try OpSupport.floats(op, bias)
            guard bias.shape == [weight.shape[1]] else {
                throw .shapeMismatch(op: op, lhs: bias.shape, rhs: weight.shape, reason: "bias must be [N] for weight [K, N]")
            }
        }
        guard theta >= 0, theta.isFinite else { throw .invalidArgument(op: op, reason: "theta \(theta) must be finite and >= 0") }
        guard refreshInterval >= 0 else { throw .invalidArgument(op: op, reason: "refreshInterval must be >= 0") }
        self.weight = try weight.contiguous()
        self.bias = bias
        self.theta = theta
        self.refreshInterval = refreshInterval
    }

    /// The fraction of multiply-accumulates skipped so far, `1 - macsDone / macsDense`.
    public var macsSavedFraction: Double { macsDense == 0 ? 0 : 1 - Double(macsDone) / Double(macsDense) }

    /// The current reference input (the last transmitted value of each input); reading it
    /// waits for the device (empty before the first step, or if the device failed).
    public var transmittedInput: [Float] { (try? reference?.toArray()) ?? [] }

    /// Advances the stream by one input `x` ([K] or [B, K], the same shape every step) and
    /// returns the layer's output, within `theta * ||W[:, i]||_1` of `x * W + b` per output.
    ///
    /// ```swift
    /// let y = try layer.step(x)
    /// ```
    public func step(_ x: Tensor) throws(TensorError) -> Tensor {
        let op = "DeltaLinear.step"
        try OpSupport.sameDevice(op, x, weight)
        try OpSupport.floats(op, x)
        let k = weight.shape[0], n = weight.shape[1]
        guard x.rank >= 1, x.shape[x.rank - 1] == k else {
            throw .shapeMismatch(op: op, lhs: x.shape, rhs: weight.shape, reason: "input features differ from weight rows")
        }
        if accumulator != nil, x.shape != inputShape {
            throw .shapeMismatch(op: op, lhs: x.shape, rhs: inputShape, reason: "the input shape changed between steps")
        }
        let count = x.elementCount
        let rows = count / max(k, 1)
        let input = try x.contiguous()
        steps += 1
        macsDense += rows * k * n
        guard let current = accumulator, let reference else {
            // First step: everything is transmitted; one dense product. The reference is a
            // copy of its own: the delta kernel updates it in place.
            inputShape = x.shape
            let copy = try OpSupport.output([rows, k], on: x.device)
            if count > 0 {
                try x.device.backend.run(.copyStrided(source: input.storage, layout: .contiguous([count]),
                                                      destination: copy.storage))
            }
            self.reference = copy
            accumulator = try linear(copy, weight: weight, bias: bias)
            pendingCounts.removeAll()
            resolvedMacs += rows * k * n
            resolvedLast = count
            return try accumulator!.reshaped(Array(x.shape.dropLast()) + [n])
        }
        let delta = try OpSupport.output([rows, k], on: x.device)
        let transmitted = try Tensor.zeros([1], on: x.device)   // 0.0 has the bits of int32 0
        if count > 0 {
            try x.device.backend.run(.deltaUpdate(input: input.storage, reference: reference.storage, theta: theta,
                                                  count: count, delta: delta.storage, transmitted: transmitted.storage))
        }
        let counted = Tensor(storage: transmitted.storage, shape: [1], dtype: .int32, device: x.device)
        var next: Tensor
        if refreshInterval > 0, steps % refreshInterval == 0 {
            next = try linear(reference, weight: weight, bias: bias)
            resolvedMacs += rows * k * n
            pendingCounts.append((counted, false))
        } else {
            // On the CPU the dispatcher's measurement costs nothing; elsewhere it would wait
            // for the device, so the stream's update takes the per-row path.
            let update = x.device.kind == .cpu
                ? try sparseMatmul(delta, weight, threshold: 0)
                : try sparseMatmul(delta, weight, threshold: 0, mode: .perRow)
            next = try elementwise(.add, current, update)
            pendingCounts.append((counted, true))
        }
        accumulator = next
        return try next.reshaped(Array(x.shape.dropLast()) + [n])
    }

    /// Reads the transmitted counts still on the device into ``macsDone`` and ``lastTransmitted``.
    private func resolveCounts() {
        guard !pendingCounts.isEmpty else { return }
        let n = weight.shape[1]
        for (index, pending) in pendingCounts.enumerated() {
            guard let value = try? pending.count.toInt32Array().first else { continue }
            if pending.countsMacs { resolvedMacs += Int(value) * n }
            if index == pendingCounts.count - 1 { resolvedLast = Int(value) }
        }
        pendingCounts.removeAll()
    }
}
