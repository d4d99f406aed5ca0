import TensorCore

/// TEAL-style magnitude sparsity of a ``Linear`` layer's input at inference: with a
/// `threshold` set, every input `|x| <= threshold` counts as zero and the product runs through
/// ``sparseMatmul(_:_:threshold:)``'s dispatcher (which skips those weight rows, or falls back
/// to the dense kernel where that is faster). While calibrating, the layer keeps a sample of
/// its inputs' magnitudes, from which ``threshold(forSparsity:)`` picks the threshold that
/// zeroes a target fraction of them. Only calls without gradient recording are sparsified.
///
/// Shared by reference: every copy of a layer sees the same settings.
///
/// ```swift
/// layer.inputSparsity.startCalibration()
/// _ = try withNoGrad { try layer(calibrationBatch) }
/// layer.inputSparsity.threshold = layer.inputSparsity.threshold(forSparsity: 0.5)
/// layer.inputSparsity.stopCalibration()
/// ```
public final class InputSparsity: Sendable {
    private struct State: Sendable {
        var threshold: Float?
        var calibrating = false
        var magnitudes: [Float] = []
        var seen = 0
        var timing = false
        var seconds = 0.0
    }

    private let state = LockedValue(State())

    /// At most this many magnitudes are kept while calibrating (a strided sample beyond it).
    public static let sampleLimit = 1 << 20

    public init() {}

    /// Inputs with `|x| <= threshold` are skipped; nil runs the dense product.
    public var threshold: Float? {
        get { state.withLock { $0.threshold } }
        set { state.withLock { $0.threshold = newValue } }
    }

    /// What a layer call needs, under one lock: the threshold and whether to sample or time.
    var settings: (threshold: Float?, calibrating: Bool, timing: Bool) {
        state.withLock { ($0.threshold, $0.calibrating, $0.timing) }
    }

    /// Whether inputs are being sampled.
    public var isCalibrating: Bool { state.withLock { $0.calibrating } }

    /// Starts sampling input magnitudes (forgetting earlier samples).
    public func startCalibration() {
        state.withLock { $0 = State(threshold: $0.threshold, calibrating: true, timing: $0.timing, seconds: $0.seconds) }
    }

    /// Stops sampling (the samples stay until the next start).
    public func stopCalibration() {
        state.withLock { $0.calibrating = false }
    }

    /// Samples the magnitudes of `values` (called by the layer while calibrating).
    func record(_ values: [Float]) {
        state.withLock { s in
            let stride = Swift.max(1, (s.seen + values.count) / InputSparsity.sampleLimit)
            for (offset, value) in values.enumerated() where (s.seen + offset) % stride == 0 {
                s.magnitudes.append(Swift.abs(value))
            }
            s.seen += values.count
        }
    }

    /// Whether the layer times its products (synchronising the device after each, so the
    /// figure is the layer's own time; benchmarks only).
    public var isTiming: Bool { state.withLock { $0.timing } }

    /// Starts (or stops) timing the layer's products, from zero.
    public func setTiming(_ enabled: Bool) {
        state.withLock { $0.timing = enabled; $0.seconds = 0 }
    }

    /// Seconds spent in the layer's products since timing started.
    public var measuredSeconds: Double { state.withLock { $0.seconds } }

    func addTime(_ seconds: Double) {
        state.withLock { $0.seconds += seconds }
    }

    /// The threshold under which a fraction `sparsity` of the sampled magnitudes lie (their
    /// quantile), or nil without samples.
    public func threshold(forSparsity sparsity: Double) -> Float? {
        state.withLock { s -> Float? in
            guard !s.magnitudes.isEmpty, sparsity > 0 else { return nil }
            let sorted = s.magnitudes.sorted()
            let index = Swift.min(sorted.count - 1, Swift.max(0, Int((Double(sorted.count) * sparsity).rounded(.up)) - 1))
            return sorted[index]
        }
    }

    /// The fraction of sampled magnitudes at or below `threshold`.
    public func sampledSparsity(at threshold: Float) -> Double {
        state.withLock { s in
            s.magnitudes.isEmpty ? 0 : Double(s.magnitudes.filter { $0 <= threshold }.count) / Double(s.magnitudes.count)
        }
    }
}
