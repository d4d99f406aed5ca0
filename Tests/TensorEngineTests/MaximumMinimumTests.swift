import Foundation
import TestSupport
import Testing
import TensorEngine

/// `maximum` and `minimum` (the walkthrough op of docs/adding-an-op.md) on every device:
/// forward against float64 with NaN, ties, signed zeros, infinities and broadcasting, and the
/// gradient's tie rule (half to each operand, as torch.maximum's derivative).
@Suite(.vulkanValidation) struct MaximumMinimumTests {
    static let denormal = Float.leastNormalMagnitude / 4
    static let a: [Float] = [1, 5, -2, .nan, 3, .infinity, -.infinity, 0, -0.0, denormal, 7]
    static let b: [Float] = [3, 4, -2, 1, .nan, 2, -1, -0.0, 0, 0, 7]

    @Test(arguments: TestDevices.all)
    func forwardMatchesFloat64(device: Device) throws {
        let x = try Tensor(Self.a, shape: [11], on: device), y = try Tensor(Self.b, shape: [11], on: device)
        for (op, result) in [(BinaryOp.maximum, try maximum(x, y)), (.minimum, try minimum(x, y))] {
            let got = try result.toArray()
            for i in Self.a.indices {
                let expected = op.apply(Double(Self.a[i]), Double(Self.b[i]))
                if expected.isNaN {
                    #expect(got[i].isNaN, "\(op)(\(Self.a[i]), \(Self.b[i])) = \(got[i]), expected NaN on \(device.identifier)")
                } else if Self.a[i] == Self.denormal && device.kind == .vulkan {
                    #expect(got[i] == Self.denormal || got[i] == 0, "a GPU may flush the denormal")
                } else {
                    #expect(got[i] == Float(expected), "\(op)(\(Self.a[i]), \(Self.b[i])) = \(got[i]) on \(device.identifier)")
                }
            }
        }
    }

    @Test(arguments: TestDevices.all)
    func broadcastsAgainstARowAndAScalar(device: Device) throws {
        let m = try Tensor((0..<12).map { Float($0) - 5.5 }, shape: [3, 4], on: device)
        let row = try Tensor([0, -1, 10, -10], shape: [4], on: device)
        let expected: [Float] = (0..<12).map { i in Swift.max(Float(i) - 5.5, [0, -1, 10, -10][i % 4]) }
        #expect(try maximum(m, row).toArray() == expected)
        let relu = try maximum(m, Tensor(scalar: 0, on: device)).toArray()
        #expect(relu == (0..<12).map { Swift.max(Float($0) - 5.5, 0) })
        #expect(try minimum(row, m).shape == [3, 4])
    }

    /// d/da maximum(a, b) = 1 where a > b, 0 where a < b, 1/2 where a == b (and b's the rest).
    @Test(arguments: TestDevices.all)
    func gradientGoesToTheWinnerAndSplitsTies(device: Device) throws {
        let a = try Tensor([1, 5, -2, 0, 1e30, -.infinity], shape: [6], on: device).requiringGrad()
        let b = try Tensor([3, 4, -2, -0.0, 1e30, 2], shape: [6], on: device).requiringGrad()
        let weights = try Tensor([1, 2, 3, 4, 5, 6], shape: [6], on: device)
        try (maximum(a, b) * weights).sum().backward()
        #expect(try a.grad!.toArray() == [0, 2, 1.5, 2, 2.5, 0])
        #expect(try b.grad!.toArray() == [1, 0, 1.5, 2, 2.5, 6])

        let c = try Tensor([1, 5, -2], shape: [3], on: device).requiringGrad()
        let d = try Tensor([3], shape: [1], on: device).requiringGrad()   // broadcast: its gradient sums
        try minimum(c, d).sum().backward()
        #expect(try c.grad!.toArray() == [1, 0, 1])
        #expect(try d.grad!.toArray() == [1])
    }
}
