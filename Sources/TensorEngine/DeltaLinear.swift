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
    /// Multiply-accumulates performed so far (sparse updates plus dense refreshes).
    public private(set) var macsDone = 0
    /// Multiply-accumulates a dense layer would have performed: K * N * rows per step.
    public private(set) var macsDense = 0
    /// Inputs transmitted at the last step.
    public private(set) var lastTransmitted = 0

    private var reference: [Float] = []
    private var inputShape: [Int] = []
    private var accumulator: Tensor?

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

    /// The current reference input (the last transmitted value of each input).
    public var transmittedInput: [Float] { reference }

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
        let values = try x.toArray()
        let rows = values.count / max(k, 1)
        steps += 1
        macsDense += rows * k * n
        guard let current = accumulator else {
            // First step: everything is transmitted; one dense product.
            inputShape = x.shape
            reference = values
            accumulator = try dense(rows: rows)
            macsDone += rows * k * n
            lastTransmitted = values.count
            return try accumulator!.reshaped(Array(x.shape.dropLast()) + [n])
        }
        var delta = [Float](repeating: 0, count: values.count)
        var transmitted = 0
        for i in values.indices {
            let d = values[i] - reference[i]
            if !(abs(d) < theta) {
                delta[i] = d
                reference[i] = values[i]
                transmitted += 1
            }
        }
        lastTransmitted = transmitted
        var next: Tensor
        if refreshInterval > 0, steps % refreshInterval == 0 {
            next = try dense(rows: rows)
            macsDone += rows * k * n
        } else if transmitted == 0 {
            next = current
        } else {
            let update = try sparseMatmul(Tensor(delta, shape: [rows, k], on: x.device), weight, threshold: 0)
            next = try elementwise(.add, current, update)
            macsDone += transmitted * n
        }
        accumulator = next
        return try next.reshaped(Array(x.shape.dropLast()) + [n])
    }

    /// `xRef * W + b` computed densely, [rows, N].
    private func dense(rows: Int) throws(TensorError) -> Tensor {
        let x = try Tensor(reference, shape: [rows, weight.shape[0]], on: weight.device)
        return try linear(x, weight: weight, bias: bias)
    }
}
