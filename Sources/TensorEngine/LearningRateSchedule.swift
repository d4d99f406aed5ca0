import Foundation
import TensorCore

/// How the learning rate falls after warm-up in a ``LearningRateSchedule``.
public enum LearningRateDecay: Sendable, Equatable {
    /// Stays at the peak.
    case constant
    /// Linearly from the peak to 0 at the last step (transformers' `get_linear_schedule_with_warmup`).
    case linear
    /// Half a cosine from the peak to 0 at the last step (transformers' `get_cosine_schedule_with_warmup`).
    case cosine
}

/// A learning rate per optimizer step: linear warm-up from 0 to `peak` over `warmupSteps`,
/// then ``LearningRateDecay``, as transformers' schedules (a `LambdaLR` whose factor multiplies
/// the peak). Steps count from 0, the first update, so with warm-up the first update's rate is 0,
/// exactly as there.
///
/// ```swift
/// let schedule = try LearningRateSchedule(peak: 1e-3, warmupSteps: 10, totalSteps: 100, decay: .cosine)
/// for step in 0..<100 {
///     optimizer.learningRate = schedule.rate(atStep: step)
///     // forward, backward, optimizer.step()
/// }
/// ```
public struct LearningRateSchedule: Sendable, Equatable {
    public let peak: Float
    public let warmupSteps: Int
    public let totalSteps: Int
    public let decay: LearningRateDecay

    /// A schedule; throws when a count is negative or the warm-up is longer than the run.
    public init(peak: Float, warmupSteps: Int, totalSteps: Int, decay: LearningRateDecay) throws(TensorError) {
        guard peak >= 0, peak.isFinite else {
            throw .invalidArgument(op: "LearningRateSchedule", reason: "peak must be finite and >= 0, got \(peak)")
        }
        guard warmupSteps >= 0, totalSteps >= warmupSteps else {
            throw .invalidArgument(op: "LearningRateSchedule",
                                   reason: "needs 0 <= warmupSteps <= totalSteps, got \(warmupSteps) and \(totalSteps)")
        }
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.decay = decay
    }

    /// The factor of the peak at `step` (0-based), between 0 and 1.
    public func factor(atStep step: Int) -> Double {
        if step < warmupSteps {
            return Double(max(step, 0)) / Double(max(1, warmupSteps))
        }
        let decaySteps = Double(max(1, totalSteps - warmupSteps))
        let progress = Double(step - warmupSteps) / decaySteps
        switch decay {
        case .constant:
            return 1
        case .linear:
            return max(0, Double(totalSteps - step) / decaySteps)
        case .cosine:
            return max(0, 0.5 * (1 + cos(Double.pi * progress)))
        }
    }

    /// The learning rate at `step` (0-based): `peak * factor(atStep: step)`.
    public func rate(atStep step: Int) -> Float {
        Float(Double(peak) * factor(atStep: step))
    }
}
