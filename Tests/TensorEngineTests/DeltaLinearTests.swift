import Foundation
import TestSupport
import Testing
import TensorEngine

/// DeltaLinear's error bound over long random walks, its MAC counts and its reference rule.
@Suite(.vulkanValidation) struct DeltaLinearTests {
    /// Runs `steps` random-walk steps and returns the worst error / bound over all outputs and
    /// steps, and over the last quarter of the steps (drift would show there).
    func walk(device: Device, k: Int, n: Int, rows: Int, theta: Float, steps: Int, refresh: Int,
              stepStd: Float) throws -> (worst: Double, late: Double, layer: DeltaLinear) {
        let w = try Tensor.randn([k, n], std: 0.3, seed: 1, on: device)
        let b = try Tensor.randn([n], seed: 2, on: device)
        let wv = doubles(try w.toArray()), bv = doubles(try b.toArray())
        var norms = [Double](repeating: 0, count: n)
        for r in 0..<k { for j in 0..<n { norms[j] += abs(wv[r * n + j]) } }
        let layer = try DeltaLinear(weight: w, bias: b, theta: theta, refreshInterval: refresh)
        var rng = SeededRandom(seed: 3)
        var x = rng.normalFloats(rows * k)
        var worst = 0.0, late = 0.0
        for step in 0..<steps {
            for i in x.indices { x[i] += stepStd * Float(rng.nextNormal()) }
            let y = try layer.step(Tensor(x, shape: [rows, k], on: device)).toArray()
            for r in 0..<rows {
                for j in 0..<n {
                    var exact = bv[j], magnitude = abs(bv[j])
                    for c in 0..<k {
                        exact += Double(x[r * k + c]) * wv[c * n + j]
                        magnitude += abs(Double(x[r * k + c]) * wv[c * n + j])
                    }
                    // theta * ||W_j||_1, plus float32 rounding of a sum of this magnitude.
                    let bound = Double(theta) * norms[j] + 64 * Double(Float.ulpOfOne) * magnitude
                    let ratio = abs(Double(y[r * n + j]) - exact) / bound
                    worst = max(worst, ratio)
                    if step >= steps * 3 / 4 { late = max(late, ratio) }
                }
            }
            // The rule: every input is within theta of its reference.
            let reference = layer.transmittedInput
            #expect(x.indices.allSatisfy { x[$0] == reference[$0] || abs(x[$0] - reference[$0]) < theta }, "step \(step)")
        }
        return (worst, late, layer)
    }

    @Test(arguments: TestDevices.all)
    func errorStaysWithinThetaTimesColumnNormOverTwoThousandSteps(device: Device) throws {
        let (k, n, steps) = (48, 24, 2000)
        let result = try walk(device: device, k: k, n: n, rows: 1, theta: 0.05, steps: steps, refresh: 100, stepStd: 0.02)
        #expect(result.worst <= 1, "worst error / bound \(result.worst)")
        #expect(result.late <= 1, "late error / bound \(result.late)")
        let layer = result.layer
        #expect(layer.steps == steps)
        #expect(layer.macsDense == steps * k * n)
        #expect(layer.macsDone >= (1 + (steps - 1) / 100) * k * n)   // first step and the refreshes
        #expect(layer.macsDone < layer.macsDense / 2, "saved only \(layer.macsSavedFraction)")
    }

    @Test(arguments: TestDevices.all)
    func noRefreshStillHoldsTheBoundAndBatchesWork(device: Device) throws {
        let result = try walk(device: device, k: 33, n: 17, rows: 3, theta: 0.1, steps: 600, refresh: 0, stepStd: 0.05)
        #expect(result.worst <= 1, "worst error / bound \(result.worst)")
        #expect(result.layer.macsDone < result.layer.macsDense)
    }

    @Test(arguments: TestDevices.all)
    func thetaZeroTransmitsEveryChangeAndIsExact(device: Device) throws {
        let result = try walk(device: device, k: 20, n: 9, rows: 1, theta: 0, steps: 50, refresh: 10, stepStd: 0.1)
        #expect(result.worst <= 1)
        #expect(result.layer.macsSavedFraction < 0.05)
    }

    @Test(arguments: TestDevices.all)
    func unchangedInputCostsNothing(device: Device) throws {
        let w = try Tensor.randn([16, 8], seed: 4, on: device)
        let layer = try DeltaLinear(weight: w, theta: 0.01, refreshInterval: 0)
        let x = try Tensor.randn([16], seed: 5, on: device)
        let first = try layer.step(x).toArray()
        let done = layer.macsDone
        let second = try layer.step(x)
        #expect(second.shape == [8])
        #expect(try second.toArray() == first)
        #expect(layer.macsDone == done)
        #expect(layer.lastTransmitted == 0)
        #expect(throws: TensorError.self) { try layer.step(try Tensor.randn([2, 16], on: device)) }
        #expect(throws: TensorError.self) { try DeltaLinear(weight: w, theta: -1) }
    }
}
