import Foundation
import TestSupport
import Testing
import TensorEngine

/// AdamW, Adam, gradient clipping and learning-rate schedules against float64 re-statements
/// of PyTorch's `torch.optim.AdamW`, `clip_grad_norm_` and transformers' schedules.
@Suite(.vulkanValidation) struct OptimizerTests {
    /// Three AdamW steps of f(p) = sum(c * p^2 / 2) (gradient c * p) in float64, PyTorch's order.
    static func adamWReference(start: [Double], curvature: [Double], learningRate: Double, weightDecay: Double,
                               steps: Int) -> [Double] {
        var p = start, m = [Double](repeating: 0, count: start.count), v = m
        let beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8
        for t in 1...steps {
            for i in p.indices {
                let g = curvature[i] * p[i]
                p[i] *= 1 - learningRate * weightDecay
                m[i] = beta1 * m[i] + (1 - beta1) * g
                v[i] = beta2 * v[i] + (1 - beta2) * g * g
                let denominator = (v[i] / (1 - pow(beta2, Double(t)))).squareRoot() + epsilon
                p[i] -= learningRate / (1 - pow(beta1, Double(t))) * m[i] / denominator
            }
        }
        return p
    }

    @Test(arguments: TestDevices.all)
    func adamWMatchesFloat64(device: Device) throws {
        let count = 1031   // prime, several workgroups
        let start = (0..<count).map { Float(sin(Double($0) * 0.37)) * 2 }
        let curvature = (0..<count).map { Float(1 + ($0 % 7)) * 0.5 }
        for weightDecay in [Float(0), 0.1] {
            let p = try Tensor(start, shape: [count], on: device).requiringGrad()
            let c = try Tensor(curvature, shape: [count], on: device)
            let optimizer = AdamW(parameters: [p], learningRate: 0.05, weightDecay: weightDecay)
            for _ in 0..<3 {
                optimizer.zeroGrad()
                try (c * p * p * 0.5).sum().backward()
                try optimizer.step()
            }
            let expected = Self.adamWReference(start: start.map(Double.init), curvature: curvature.map(Double.init),
                                               learningRate: 0.05, weightDecay: Double(weightDecay), steps: 3)
            let error = nmse(try p.toArray(), expected)
            #expect(error < 1e-10, "AdamW decay \(weightDecay) on \(device.identifier): nmse \(error)")
        }
    }

    @Test(arguments: TestDevices.all)
    func adamIsAdamWithoutDecayAndSkipsParametersWithoutGradient(device: Device) throws {
        let start: [Float] = [1, -2, 3, 0.5]
        let p = try Tensor(start, shape: [2, 2], on: device).requiringGrad()
        let untouched = try Tensor([7, 8], shape: [2], on: device).requiringGrad()
        let optimizer = Adam(parameters: [p, untouched], learningRate: 0.1)
        for _ in 0..<2 {
            optimizer.zeroGrad()
            try (p * p * 0.5).sum().backward()
            try optimizer.step()
        }
        let expected = Self.adamWReference(start: start.map(Double.init), curvature: [1, 1, 1, 1],
                                           learningRate: 0.1, weightDecay: 0, steps: 2)
        #expect(nmse(try p.toArray(), expected) < 1e-10)
        #expect(try untouched.toArray() == [7, 8])
    }

    @Test(arguments: TestDevices.all)
    func clipGradientNormScalesToTheGlobalNorm(device: Device) throws {
        let a = try Tensor([3, 0, 0, 0], shape: [4], on: device).requiringGrad()
        let b = try Tensor([0, 4], shape: [1, 2], on: device).requiringGrad()
        let noGradient = try Tensor([1], shape: [1], on: device).requiringGrad()
        // grad of sum(x^2 / 2) is x: global norm sqrt(9 + 16) = 5.
        try ((a * a).sum() * 0.5 + (b * b).sum() * 0.5).backward()
        let norm = try clipGradientNorm([a, b, noGradient], maxNorm: 1)
        #expect(abs(norm - 5) < 1e-6)
        let factor = 1 / (5 + 1e-6)
        let gotA = try a.grad!.toArray(), gotB = try b.grad!.toArray()
        #expect(nmse(gotA + gotB, [3 * factor, 0, 0, 0, 0, 4 * factor]) < 1e-12)
        #expect(noGradient.grad == nil)
        // Below the limit nothing changes.
        let again = try clipGradientNorm([a, b], maxNorm: 10)
        #expect(abs(again - 1) < 1e-5)
        #expect(try a.grad!.toArray() == gotA)
        #expect(throws: TensorError.self) { try clipGradientNorm([a], maxNorm: -1) }
        #expect(throws: TensorError.self) { try clipGradientNorm([a], maxNorm: .nan) }
    }

    @Test func schedulesFollowTransformersFormulas() throws {
        let linear = try LearningRateSchedule(peak: 1e-3, warmupSteps: 10, totalSteps: 110, decay: .linear)
        let cosine = try LearningRateSchedule(peak: 1e-3, warmupSteps: 10, totalSteps: 110, decay: .cosine)
        let constant = try LearningRateSchedule(peak: 2, warmupSteps: 4, totalSteps: 4, decay: .constant)
        for step in [0, 1, 5, 9, 10, 11, 60, 109, 110, 200] {
            let warm = Double(step) / 10
            let progress = Double(step - 10) / 100
            let expectedLinear = step < 10 ? warm : max(0, Double(110 - step) / 100)
            let expectedCosine = step < 10 ? warm : max(0, 0.5 * (1 + cos(Double.pi * progress)))
            #expect(abs(linear.factor(atStep: step) - expectedLinear) < 1e-15, "linear at \(step)")
            #expect(abs(cosine.factor(atStep: step) - expectedCosine) < 1e-15, "cosine at \(step)")
        }
        #expect(linear.rate(atStep: 0) == 0)
        #expect(abs(linear.rate(atStep: 10) - 1e-3) < 1e-12)
        #expect(abs(cosine.rate(atStep: 60) - 0.5e-3) < 1e-9)
        #expect(constant.rate(atStep: 2) == 1 && constant.rate(atStep: 100) == 2)
        #expect(throws: TensorError.self) { try LearningRateSchedule(peak: 1, warmupSteps: 5, totalSteps: 4, decay: .linear) }
        #expect(throws: TensorError.self) { try LearningRateSchedule(peak: -1, warmupSteps: 0, totalSteps: 4, decay: .linear) }
    }
}
