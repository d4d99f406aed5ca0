import Foundation
import TensorCore

/// Scales every gradient of `parameters` so that their global L2 norm (the norm of all the
/// gradients together, as one vector) is at most `maxNorm`, as
/// `torch.nn.utils.clip_grad_norm_`: the factor is `min(1, maxNorm / (norm + 1e-6))`.
/// Returns the norm before clipping (infinite or NaN when a gradient is; the gradients are
/// then scaled by NaN, as in PyTorch, so a diverged step is visible). Parameters without a
/// gradient are skipped. Reads one scalar per parameter back from the device.
///
/// ```swift
/// try loss.backward()
/// let norm = try clipGradientNorm(model.parameters, maxNorm: 1.0)
/// try optimizer.step()
/// ```
@discardableResult
public func clipGradientNorm(_ parameters: [Tensor], maxNorm: Float) throws(TensorError) -> Float {
    guard maxNorm >= 0, maxNorm.isFinite else {
        throw .invalidArgument(op: "clipGradientNorm", reason: "maxNorm must be finite and >= 0, got \(maxNorm)")
    }
    return try withNoGrad { () throws(TensorError) -> Float in
        let withGradients = parameters.filter { $0.grad != nil }
        var sumOfSquares = 0.0
        for parameter in withGradients {
            guard let gradient = parameter.grad, gradient.elementCount > 0 else { continue }
            // Squared in float32: a float16 square overflows from |g| = 256.
            let wide = try ReducedPrecision.widened(gradient)
            sumOfSquares += Double(try (wide * wide).sum().item())
        }
        let norm = Float(sumOfSquares.squareRoot())
        let factor = min(1, maxNorm / (norm + 1e-6))
        // PyTorch multiplies even by 1; skipping that changes nothing but the work.
        guard factor != 1 else { return norm }
        for parameter in withGradients {
            guard let gradient = parameter.grad else { continue }
            try parameter.replaceGrad(try gradient * factor)
        }
        return norm
    }
}

extension Tensor {
    /// Replaces the accumulated gradient of this leaf (for gradient clipping).
    func replaceGrad(_ gradient: Tensor) throws(TensorError) {
        guard let state = gradState else {
            throw .invalidArgument(op: "replaceGrad", reason: "the tensor does not require grad")
        }
        state.clear()
        try state.accumulate(gradient)
    }
}
