import Foundation
import TestSupport
import Testing
import TensorEngine

/// Autograd gradients against central finite differences of the forward, on every device.
///
/// For each input p and a random direction v, the analytic directional derivative
/// sum(grad * v) must match (L(p + h v) - L(p - h v)) / 2h. A wrong formula is off by
/// O(1); float32 rounding and truncation stay below the tolerance.
@Suite(.vulkanValidation) struct AutogradTests {
    static func check(_ name: String, on device: Device, shapes: [[Int]], positive: Bool = false,
                      _ f: ([Tensor]) throws -> Tensor, sourceLocation: SourceLocation = #_sourceLocation) throws {
        var rng = SeededRandom(seed: UInt64(name.utf8.reduce(0) { $0 &* 31 &+ UInt64($1) }))
        let values = shapes.map { shape in
            rng.normalFloats(ShapeMath.elementCount(shape)).map { positive ? Swift.abs($0) + 0.5 : $0 }
        }
        let leaves = try zip(values, shapes).map { try Tensor($0, shape: $1, on: device).requiringGrad() }
        let loss = try f(leaves)
        try loss.backward()
        for index in leaves.indices {
            let direction = rng.normalFloats(values[index].count)
            guard let grad = leaves[index].grad else {
                Issue.record("\(name): input \(index) got no gradient", sourceLocation: sourceLocation)
                continue
            }
            #expect(grad.shape == shapes[index], "\(name): gradient shape", sourceLocation: sourceLocation)
            let analytic = zip(try grad.toArray(), direction).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let h: Float = 1e-2
            func evaluate(_ sign: Float) throws -> Double {
                let moved = zip(values[index], direction).map { $0 + sign * h * $1 }
                var inputs = leaves.map { $0.detached() }
                inputs[index] = try Tensor(moved, shape: shapes[index], on: device)
                return Double(try f(inputs).item())
            }
            let numeric = (try evaluate(1) - evaluate(-1)) / (2 * Double(h))
            let scale = max(1, Swift.abs(numeric), Swift.abs(analytic))
            #expect(Swift.abs(analytic - numeric) / scale < 2e-3,
                    "\(name) input \(index): autograd \(analytic), finite difference \(numeric)", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: TestDevices.all)
    func elementwiseGradients(device: Device) throws {
        try Self.check("add broadcast", on: device, shapes: [[3, 4], [4]]) { try ($0[0] + $0[1]).sum() }
        try Self.check("sub broadcast", on: device, shapes: [[3, 1], [1, 5]]) { try ($0[0] - $0[1]).mean() }
        try Self.check("mul broadcast", on: device, shapes: [[2, 3, 4], [3, 1]]) { try ($0[0] * $0[1] * $0[0]).sum() }
        try Self.check("div", on: device, shapes: [[5], [5]], positive: true) { try ($0[0] / $0[1]).sum() }
        try Self.check("scalar ops", on: device, shapes: [[7]]) { try ((-$0[0] * 3 + 1) / 2 * $0[0]).sum() }
        try Self.check("unary", on: device, shapes: [[6]], positive: true) {
            try ($0[0].exp() + $0[0].log() + $0[0].sqrt() * $0[0] + ($0[0] - 1).abs()).sum()
        }
    }

    @Test(arguments: TestDevices.all)
    func matmulGradients(device: Device) throws {
        try Self.check("matmul", on: device, shapes: [[7, 5], [5, 3]]) { try (matmul($0[0], $0[1]) * matmul($0[0], $0[1])).sum() }
        try Self.check("matmul transposed views", on: device, shapes: [[5, 7], [3, 5]]) {
            try matmul($0[0].transposed(), $0[1].transposed()).sum()
        }
        try Self.check("matmul batched shared weight", on: device, shapes: [[2, 3, 4], [4, 5]]) {
            let y = try matmul($0[0], $0[1])
            return try (y * y).mean()
        }
        try Self.check("matmul broadcast batch", on: device, shapes: [[2, 1, 3, 4], [5, 4, 2]]) {
            let y = try matmul($0[0], $0[1])
            return try (y * y).sum()
        }
        try Self.check("matmul vectors", on: device, shapes: [[4], [4, 3], [3]]) {
            try matmul(matmul($0[0], $0[1]), $0[2])
        }
    }

    @Test(arguments: TestDevices.all)
    func activationAndLinearGradients(device: Device) throws {
        for activation in Activation.allCases {
            try Self.check("activate \(activation)", on: device, shapes: [[31]]) { try (activate($0[0], activation) * $0[0]).sum() }
            try Self.check("linear \(activation)", on: device, shapes: [[4, 6], [6, 5], [5]]) {
                let y = try linear($0[0], weight: $0[1], bias: $0[2], activation: activation)
                return try (y * y).sum()
            }
        }
        try Self.check("linear 3-D input no bias", on: device, shapes: [[2, 3, 4], [4, 5]]) {
            try linear($0[0], weight: $0[1], activation: .silu).sum()
        }
    }

    @Test(arguments: TestDevices.all)
    func reductionsViewsAndLosses(device: Device) throws {
        try Self.check("sum/mean axes", on: device, shapes: [[3, 4, 5]]) {
            let s = try $0[0].sum(axis: 1)
            return try (s * s).mean(axis: 0).sum() + $0[0].mean(axis: -1, keepDims: true).sum()
        }
        try Self.check("views", on: device, shapes: [[2, 3, 4]]) {
            let p = try $0[0].permuted([2, 0, 1]).reshaped([4, 6])
            return try (p * p.transposed().transposed() * $0[0].reshaped([4, 6])).sum()
        }
        try Self.check("expand", on: device, shapes: [[3, 1]]) { try ($0[0].expanded(to: [3, 4]) * $0[0]).sum() }
        try Self.check("softmax", on: device, shapes: [[4, 6], [4, 6]]) { try (softmax($0[0]) * $0[1]).sum() }
        try Self.check("logSoftmax", on: device, shapes: [[4, 6], [4, 6]]) { try (softmax($0[0], logarithm: true) * $0[1]).sum() }
        let labels = try Tensor(int32: [2, 0, 5, 1], shape: [4], on: device)
        try Self.check("cross entropy", on: device, shapes: [[4, 6]]) { try softmaxCrossEntropy(logits: $0[0] * 3, labels: labels) }
        try Self.check("mse", on: device, shapes: [[5, 2], [5, 2]]) { try mseLoss($0[0], $0[1]) }
    }

    @Test func crossEntropyMatchesReferenceAndIsStable() throws {
        let logits: [Float] = [1000, 0, -1000, 2, 1, 0]
        let x = try Tensor(logits, shape: [2, 3], on: .cpu)
        let loss = try softmaxCrossEntropy(logits: x, labels: Tensor(int32: [0, 2], shape: [2], on: .cpu)).item()
        // Row 0: log-softmax at class 0 is 0; row 1: -(0 - 2 - log(1 + e^-1 + e^-2)).
        let expected: Double = (2 + Foundation.log(1 + Foundation.exp(-1.0) + Foundation.exp(-2.0))) / 2
        #expect(Swift.abs(Double(loss) - expected) < 1e-5)
        #expect(throws: TensorError.self) { try softmaxCrossEntropy(logits: x, labels: Tensor(int32: [0, 3], shape: [2], on: .cpu)) }
        #expect(throws: TensorError.self) { try softmaxCrossEntropy(logits: x, labels: Tensor(int32: [0], shape: [1], on: .cpu)) }
    }

    @Test func gradientsAccumulateAndClear() throws {
        let w = try Tensor([1, 2, 3], shape: [3], on: .cpu).requiringGrad()
        try (w * w).sum().backward()
        #expect(try w.grad!.toArray() == [2, 4, 6])
        try (w * w).sum().backward()
        #expect(try w.grad!.toArray() == [4, 8, 12])
        w.clearGrad()
        #expect(w.grad == nil)
        // A tensor used twice sums both paths.
        try (w * 2 + w * 3).sum().backward()
        #expect(try w.grad!.toArray() == [5, 5, 5])
    }

    @Test func noGradScopeRecordsNothing() throws {
        let w = try Tensor.ones([2], on: .cpu).requiringGrad()
        let y = try withNoGrad { () throws(TensorError) in try (w * 2).sum() }
        #expect(!y.requiresGrad)
        #expect(throws: TensorError.self) { try y.backward() }
        let z = try (w * 2).sum()
        #expect(z.requiresGrad)
        #expect(throws: TensorError.self) { try (w * 2).backward() }  // non-scalar without a gradient
        try (w * 2).backward(Tensor([1, -1], shape: [2], on: .cpu))
        #expect(try w.grad!.toArray() == [2, -2])
    }

    @Test func tapeReportsRetainedBytes() throws {
        let x = try Tensor.randn([8, 16], seed: 1, on: .cpu)
        let layer = try Linear(16, 32, activation: .gelu, seed: 2, on: .cpu)
        let loss = try layer(x).sum()
        let bytes = loss.retainedBytesByOp()
        // The exact linear keeps x (8x16), the weight (16x32) and the pre-activation (8x32), in float32.
        #expect(bytes["linear input"] == 8 * 16 * 4)
        #expect(bytes["linear weight"] == 16 * 32 * 4)
        #expect(bytes["gelu activation (exact)"] == 8 * 32 * 4)
    }
}
