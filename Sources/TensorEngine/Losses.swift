import TensorCore

/// Softmax over the last axis (log-softmax with `logarithm: true`), numerically stable.
///
/// Backward keeps only the output y ("softmax" / "logSoftmax" in `retainedBytesByOp()`),
/// stored as `storage` says: float32, or Mesa's 8-bit codes and scales along the last axis
/// ("softmax (int8)"), in which case the backward is the exact one at the dequantised y~:
/// `y~ * (g - sum(g * y~))` (log-softmax: `g - exp(y~) * sum(g)`).
///
/// ```swift
/// let probabilities = try softmax(logits)            // rows sum to 1
/// let logProbabilities = try softmax(logits, logarithm: true)
/// let small = try softmax(scores, storage: .mesa)    // backward from 8-bit probabilities
/// ```
///
/// A float16 or bfloat16 `x` gives a result of its type: read as stored (a view in place),
/// computed in float32 and rounded once. When a gradient is recorded, `x` is cast to float32
/// first, so backward is the float32 graph between casts.
///
/// ```swift
/// let p = try softmax(logits.cast(to: .float16))     // float16
/// ```
public func softmax(_ x: Tensor, logarithm: Bool = false, storage: ActivationStorage = .float32) throws(TensorError) -> Tensor {
    try ReducedPrecision.requireFloatingPoint("softmax", x)
    try storage.validate(op: "softmax")
    guard x.rank >= 1 else { throw .invalidShape(op: "softmax", shape: x.shape, reason: "needs at least one axis") }
    if ReducedPrecision.recordsGradient([x]) {
        return try softmax(ReducedPrecision.widened(x), logarithm: logarithm, storage: storage).cast(to: x.dtype)
    }
    let out = Tensor(storage: try x.device.backend.makeBuffer(count: x.elementCount, dtype: x.dtype), shape: x.shape,
                     dtype: x.dtype, device: x.device)
    if out.elementCount > 0 {
        // The view itself: a transposed input (softmax down a column) is read in place.
        try x.device.backend.run(.softmax(input: x.storage, layout: x.layout, logarithm: logarithm, output: out.storage,
                                          types: OperandTypes(a: x.dtype, c: x.dtype)))
    }
    let name = logarithm ? "logSoftmax" : "softmax"
    guard !GradMode.disabled, x.requiresGrad else { return out }
    let saved = try SavedTensor.save(out, storage)
    return Autograd.record(name, out, inputs: [x], retained: saved.retained(label: name)) { (g) throws(TensorError) in
        let y = try saved.value()
        if logarithm {
            // d logsoftmax: g - softmax * sum(g), softmax = exp(logsoftmax): only the output is kept.
            let p = try y.exp()
            return [try g - p * g.sum(axis: -1, keepDims: true)]
        }
        // d softmax: y * (g - sum(g * y))
        return [try y * (g - (g * y).sum(axis: -1, keepDims: true))]
    }
}

/// Mean softmax cross-entropy of `logits` [batch, classes] against int32 class `labels`
/// [batch], over the rows whose label is not `ignoreIndex` (PyTorch's default, -100).
///
/// Computed on the device from a log-softmax (max-subtracted, so large logits neither
/// overflow nor lose precision) and a one-hot built on the device: no host round trip. The
/// gradient is (softmax - onehot) / n on the n counted rows, 0 on ignored ones; with every
/// row ignored the loss is NaN (0 / 0, as in PyTorch). A label outside 0..<classes throws:
/// the labels (batch int32 values) are read to check them, which waits only for queued work
/// that writes the labels (none for labels uploaded from the host), never for the logits.
///
/// ```swift
/// let loss = try softmaxCrossEntropy(logits: model(x), labels: y)   // y: Tensor(int32:shape:on:)
/// try loss.backward()
/// ```
///
/// float16 / bfloat16 logits are cast to float32 (exactly) for the whole computation, and the
/// loss is rounded once to their type (as PyTorch's `cross_entropy` on half logits); the
/// gradient flows back through the cast.
public func softmaxCrossEntropy(logits: Tensor, labels: Tensor, ignoreIndex: Int32 = -100) throws(TensorError) -> Tensor {
    let op = "softmaxCrossEntropy"
    try OpSupport.sameDevice(op, logits, labels)
    try ReducedPrecision.requireFloatingPoint(op, logits)
    if logits.dtype != .float32 {
        return try softmaxCrossEntropy(logits: ReducedPrecision.widened(logits), labels: labels, ignoreIndex: ignoreIndex)
            .cast(to: logits.dtype)
    }
    guard labels.dtype == .int32 else { throw .unsupportedDType(op: op + " labels", dtype: labels.dtype) }
    guard logits.rank == 2, labels.shape == [logits.shape[0]] else {
        throw .shapeMismatch(op: op, lhs: logits.shape, rhs: labels.shape, reason: "logits must be [batch, classes] and labels [batch]")
    }
    let (batch, classes) = (logits.shape[0], logits.shape[1])
    guard batch > 0 else { throw .invalidShape(op: op, shape: logits.shape, reason: "an empty batch has no mean loss") }
    let labelStorage = try labels.contiguous()
    var counted = 0
    for (row, label) in try labelStorage.toInt32Array().enumerated() where label != ignoreIndex {
        guard label >= 0, Int(label) < classes else {
            throw .invalidArgument(op: op, reason: "label \(label) at row \(row) is outside 0..<\(classes)")
        }
        counted += 1
    }
    let ignoresRows = counted < batch
    let inverseCount = 1 / Float(counted)   // infinity when every row is ignored: the loss is 0 * inf = NaN
    let input = logits.detached()
    let loss = try withNoGrad { () throws(TensorError) in
        let onehot = try oneHot(labelStorage, classes: classes, ignoreIndex: ignoreIndex)
        return try (onehot * softmax(input, logarithm: true)).sum() * -inverseCount
    }
    return Autograd.record(op, loss, inputs: [logits], retained: [RetainedStorage(input), RetainedStorage(labelStorage)]) { (g) throws(TensorError) in
        let onehot = try oneHot(labelStorage, classes: classes, ignoreIndex: ignoreIndex)
        var probabilities = try softmax(input)
        // Ignored rows (all-zero one-hot) get no gradient: their softmax is masked out.
        if ignoresRows { probabilities = try probabilities * onehot.sum(axis: -1, keepDims: true) }
        return [try (probabilities - onehot) * (g * inverseCount)]
    }
}

/// float32 one-hot rows [n, classes] of int32 `labels` [n], built on the device; a row
/// labelled `ignoreIndex` is all 0, a row with a label outside 0..<classes all NaN.
///
/// ```swift
/// let y = try Tensor(int32: [2, 0, -100], shape: [3], on: .cpu)
/// let targets = try oneHot(y, classes: 3)        // [[0, 0, 1], [1, 0, 0], [0, 0, 0]]
/// ```
public func oneHot(_ labels: Tensor, classes: Int, ignoreIndex: Int32 = -100) throws(TensorError) -> Tensor {
    guard labels.dtype == .int32 else { throw .unsupportedDType(op: "oneHot", dtype: labels.dtype) }
    guard labels.rank == 1, classes >= 0 else {
        throw .invalidShape(op: "oneHot", shape: labels.shape, reason: "labels must be [n] and classes >= 0 (got \(classes))")
    }
    let source = try labels.contiguous()
    try ShapeMath.validate([labels.shape[0], classes], op: "oneHot")
    let out = try OpSupport.output([labels.shape[0], classes], on: labels.device)
    if out.elementCount > 0 {
        try labels.device.backend.run(.oneHot(labels: source.storage, rows: labels.shape[0], classes: classes,
                                              ignoreIndex: ignoreIndex, output: out.storage))
    }
    return out
}

/// Mean squared error, mean((prediction - target)^2), differentiable in both arguments.
///
/// ```swift
/// let loss = try mseLoss(model(x), target)
/// ```
public func mseLoss(_ prediction: Tensor, _ target: Tensor) throws(TensorError) -> Tensor {
    guard prediction.shape == target.shape else {
        throw .shapeMismatch(op: "mseLoss", lhs: prediction.shape, rhs: target.shape, reason: "prediction and target shapes differ")
    }
    let difference = try prediction - target
    return try (difference * difference).mean()
}
