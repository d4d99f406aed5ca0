import TensorCore

/// Softmax over the last axis (log-softmax with `logarithm: true`), numerically stable.
///
/// ```swift
/// let probabilities = try softmax(logits)            // rows sum to 1
/// let logProbabilities = try softmax(logits, logarithm: true)
/// ```
public func softmax(_ x: Tensor, logarithm: Bool = false) throws(TensorError) -> Tensor {
    try OpSupport.floats("softmax", x)
    guard x.rank >= 1 else { throw .invalidShape(op: "softmax", shape: x.shape, reason: "needs at least one axis") }
    let columns = x.shape[x.rank - 1]
    let rows = columns == 0 ? 0 : x.elementCount / columns
    let source = try x.contiguous()
    let out = try OpSupport.output(x.shape, on: x.device)
    if out.elementCount > 0 {
        try x.device.backend.run(.softmax(input: source.storage, rows: rows, columns: columns, logarithm: logarithm,
                                           output: out.storage))
    }
    let result = out
    return Autograd.record(logarithm ? "logSoftmax" : "softmax", out, inputs: [x], retained: [RetainedStorage(result)]) { (g) throws(TensorError) in
        let y = result.detached()
        if logarithm {
            // d logsoftmax: g - softmax * sum(g)
            let p = try softmax(source.detached())
            return [try g - p * g.sum(axis: -1, keepDims: true)]
        }
        // d softmax: y * (g - sum(g * y))
        return [try y * (g - (g * y).sum(axis: -1, keepDims: true))]
    }
}

/// Mean softmax cross-entropy of `logits` [batch, classes] against int32 class `labels` [batch].
///
/// Computed from a log-softmax (max-subtracted), so large logits neither overflow nor
/// lose precision; the gradient is (softmax - onehot) / batch.
///
/// ```swift
/// let loss = try softmaxCrossEntropy(logits: model(x), labels: y)
/// try loss.backward()
/// ```
public func softmaxCrossEntropy(logits: Tensor, labels: Tensor) throws(TensorError) -> Tensor {
    let op = "softmaxCrossEntropy"
    try OpSupport.sameDevice(op, logits, labels)
    try OpSupport.floats(op, logits)
    guard labels.dtype == .int32 else { throw .unsupportedDType(op: op + " labels", dtype: labels.dtype) }
    guard logits.rank == 2, labels.shape == [logits.shape[0]] else {
        throw .shapeMismatch(op: op, lhs: logits.shape, rhs: labels.shape, reason: "logits must be [batch, classes] and labels [batch]")
    }
    let (batch, classes) = (logits.shape[0], logits.shape[1])
    guard batch > 0 else { throw .invalidShape(op: op, shape: logits.shape, reason: "an empty batch has no mean loss") }
    let classIndices = try labels.toInt32Array()
    var onehotValues = [Float](repeating: 0, count: batch * classes)
    for (row, label) in classIndices.enumerated() {
        guard label >= 0, Int(label) < classes else {
            throw .invalidArgument(op: op, reason: "label \(label) at row \(row) is outside 0..<\(classes)")
        }
        onehotValues[row * classes + Int(label)] = 1
    }
    let onehot = try Tensor(onehotValues, shape: [batch, classes], on: logits.device)
    let input = logits.detached()
    let loss = try withNoGrad { () throws(TensorError) in
        try (onehot * softmax(input, logarithm: true)).sum() * (-1 / Float(batch))
    }
    return Autograd.record(op, loss, inputs: [logits], retained: [RetainedStorage(input), RetainedStorage(onehot)]) { (g) throws(TensorError) in
        [try (softmax(input) - onehot) * (g * (1 / Float(batch)))]
    }
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
