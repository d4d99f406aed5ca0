import Foundation
import TestSupport
import Testing
import TensorEngine

/// `where` (and `which`) on every device: choice by a nonzero condition (NaN nonzero, -0
/// zero), broadcasting of all three operands including the > rank-6 fallback, masked
/// gradients against the mask and finite differences, mismatched shapes.
@Suite(.vulkanValidation) struct SelectTests {
    @Test(arguments: TestDevices.all)
    func picksByConditionWithBroadcasting(device: Device) throws {
        let conditionValues: [Float] = [1, 0, .nan, -0.0]       // [4, 1]
        let aValues: [Float] = [10, 20, 30]                      // [1, 3]
        let c = try Tensor(conditionValues, shape: [4, 1], on: device)
        let a = try Tensor(aValues, shape: [1, 3], on: device)
        let y = try `where`(c, a, -1)
        #expect(y.shape == [4, 3])
        let expected: [Float] = (0..<12).map { i in
            let pick = Double(conditionValues[i / 3]) != 0   // NaN != 0 is true
            return pick ? aValues[i % 3] : -1
        }
        #expect(try y.toArray() == expected)
        #expect(try which(c, a, Tensor(scalar: -1, on: device)).toArray() == expected)
        let clipped = try `where`(a .> 15, 15, a)
        #expect(try clipped.toArray() == [10, 15, 15])
    }

    /// Seven independent broadcast axes do not merge below the kernels' rank 6: the operands are copied.
    @Test(arguments: TestDevices.all)
    func broadcastsSevenIndependentAxes(device: Device) throws {
        let shape = [2, 2, 2, 2, 2, 2, 2]
        let cShape = [2, 1, 2, 1, 2, 1, 2], aShape = [1, 2, 1, 2, 1, 2, 1]
        let cValues: [Float] = (0..<16).map { Float($0 % 3) }   // 0 at every third
        let aValues: [Float] = (0..<8).map { Float($0) + 100 }
        let bValues: [Float] = (0..<128).map { -Float($0) }
        let y = try `where`(Tensor(cValues, shape: cShape, on: device), Tensor(aValues, shape: aShape, on: device),
                            Tensor(bValues, shape: shape, on: device))
        var expected: [Float] = []
        for i in 0..<128 {
            let bits = (0..<7).map { (i >> (6 - $0)) & 1 }
            let ci = bits[0] * 8 + bits[2] * 4 + bits[4] * 2 + bits[6]
            let ai = bits[1] * 4 + bits[3] * 2 + bits[5]
            expected.append(cValues[ci] != 0 ? aValues[ai] : bValues[i])
        }
        #expect(try y.toArray() == expected)
    }

    @Test(arguments: TestDevices.all)
    func gradientsAreMasked(device: Device) throws {
        let mask: [Float] = [1, 0, 0, 1, 1, 0]
        let c = try Tensor(mask, shape: [2, 3], on: device)
        let a = try Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3], on: device).requiringGrad()
        let b = try Tensor([7, 8, 9], shape: [3], on: device).requiringGrad()   // broadcast over rows
        let weights = try Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3], on: device)
        let loss = try (`where`(c, a, b) * weights).sum()
        try loss.backward()
        #expect(try a.grad!.toArray() == [1, 0, 0, 4, 5, 0])
        #expect(try b.grad!.toArray() == [0, 2, 3 + 6])
        #expect(loss.retainedBytesByOp()["where"] == 24)   // the condition only

        let fixed = try Tensor([1, 0, 1, 0, 0, 1, 1, 0, 1, 1, 0, 0], shape: [3, 4], on: device)
        let w = try Tensor((0..<12).map { Float($0) * 0.25 - 1 }, shape: [3, 4], on: device)
        try AutogradTests.check("where", on: device, shapes: [[3, 4], [4]]) { t in
            try (`where`(fixed, t[0], t[1]) * w).sum()
        }
    }

    @Test(arguments: TestDevices.all)
    func badInputsThrow(device: Device) throws {
        let c = try Tensor([1, 0, 1], shape: [3], on: device)
        let a = try Tensor([1, 2, 3, 4], shape: [4], on: device)
        do {
            _ = try `where`(c, a, 0)
            Issue.record("mismatched shapes did not throw")
        } catch {
            #expect("\(error)".contains("[3]") && "\(error)".contains("[4]"), "\(error)")
        }
        #expect(throws: TensorError.self) { try `where`(Tensor(int32: [1, 0, 1], shape: [3], on: device), c, c) }
    }
}
