import TensorCore

/// TEAL (training-free activation sparsity) for a ``SentenceEmbedder``: per-layer magnitude
/// thresholds on the inputs of every linear layer (query, key, value, attention output, FFN up
/// and down), calibrated on real text for a target sparsity, then applied through
/// ``sparseMatmul(_:_:threshold:)``'s dispatcher.
extension SentenceEmbedder {
    /// Every linear layer of the encoder with its parameter-name prefix ("layers.0.attention.query", ...).
    public var linearLayers: [(name: String, layer: Linear)] {
        encoder.layers.enumerated().flatMap { index, layer -> [(String, Linear)] in
            let prefix = "layers.\(index)."
            return [("attention.query", layer.attention.query), ("attention.key", layer.attention.key),
                    ("attention.value", layer.attention.value), ("attention.output", layer.attention.output),
                    ("feedForwardUp", layer.feedForwardUp), ("feedForwardDown", layer.feedForwardDown)]
                .map { (prefix + $0.0, $0.1) }
        }
    }

    /// Runs the dense model on `texts`, sampling every linear layer's input magnitudes, and sets
    /// each layer's threshold to the quantile that skips a fraction `sparsity` (in 0..<1) of
    /// them. Returns the thresholds by layer name. `sparsity` 0 turns sparsity off.
    ///
    /// ```swift
    /// let thresholds = try model.calibrateSparsity(0.5, texts: calibrationTexts)
    /// let v = try model.embed(texts)        // half of every linear layer's inputs skipped
    /// model.clearSparsity()
    /// ```
    @discardableResult
    public func calibrateSparsity(_ sparsity: Double, texts: [String]) throws(TensorError) -> [String: Float] {
        guard sparsity >= 0, sparsity < 1 else {
            throw .invalidArgument(op: "calibrateSparsity", reason: "sparsity must be in [0, 1), got \(sparsity)")
        }
        guard !texts.isEmpty else {
            throw .invalidArgument(op: "calibrateSparsity", reason: "needs calibration texts")
        }
        clearSparsity()
        guard sparsity > 0 else { return [:] }
        let layers = linearLayers
        for (_, layer) in layers { layer.inputSparsity.startCalibration() }
        defer { for (_, layer) in layers { layer.inputSparsity.stopCalibration() } }
        _ = try embed(texts)
        var thresholds: [String: Float] = [:]
        for (name, layer) in layers {
            let threshold = layer.inputSparsity.threshold(forSparsity: sparsity)
            layer.inputSparsity.threshold = threshold
            thresholds[name] = threshold
        }
        return thresholds
    }

    /// Sets the thresholds of the named linear layers (others stay dense).
    public func setSparsity(_ thresholds: [String: Float]) {
        for (name, layer) in linearLayers { layer.inputSparsity.threshold = thresholds[name] }
    }

    /// Every linear layer dense again.
    public func clearSparsity() {
        for (_, layer) in linearLayers { layer.inputSparsity.threshold = nil }
    }
}
