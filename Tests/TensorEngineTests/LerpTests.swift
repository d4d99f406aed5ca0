import Foundation
import TestSupport
import Testing
import TensorEngine

/// `lerp`, an op with a composite and no kernel on any backend, whose gradient comes only
/// from that composite: forward against float64 with broadcasting and views, argument
/// errors, and gradients against finite differences and the float64 derivatives.
@Suite(.vulkanValidation) struct LerpTests {
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var rng = SeededRandom(seed: seed)
        return rng.normalFloats(count)
    }

    @Test(arguments: TestDevices.all)
    func forwardMatchesFloat64WithBroadcasting(device: Device) throws {
        let (a, b, w) = (Self.values(12, seed: 1), Self.values(4, seed: 2), Self.values(3, seed: 3))
        let start = try Tensor(a, shape: [3, 4], on: device)
        let end = try Tensor(b, shape: [4], on: device)
        let weight = try Tensor(w, shape: [3, 1], on: device)
        let result = try lerp(start, end, weight: weight)
        #expect(result.shape == [3, 4])
        let expected = (0..<12).map { i in Double(a[i]) + Double(w[i / 4]) * (Double(b[i % 4]) - Double(a[i])) }
        for (got, want) in zip(try result.toArray(), expected) {
            #expect(Swift.abs(Double(got) - want) <= 1e-6 * max(1, Swift.abs(want)), "\(got) vs \(want) on \(device.identifier)")
        }
        // A transposed view and a scalar weight, read in place.
        let transposed = try lerp(start.transposed(), Tensor.zeros([4, 3], on: device), weight: 0.25)
        let expectedT = (0..<12).map { i in 0.75 * Double(a[(i % 3) * 4 + i / 3]) }
        for (got, want) in zip(try transposed.toArray(), expectedT) {
            #expect(Swift.abs(Double(got) - want) <= 1e-6 * max(1, Swift.abs(want)))
        }
        #expect(try lerp(Tensor.zeros([0, 3], on: device), Tensor.ones([3], on: device), weight: 0.5).shape == [0, 3])
    }

    @Test(arguments: TestDevices.all)
    func badArgumentsThrowNamingThem(device: Device) throws {
        let a = try Tensor.zeros([3, 4], on: device)
        #expect(throws: TensorError.shapeMismatch(op: "lerp", lhs: [3, 4], rhs: [5], reason: "shapes do not broadcast")) {
            try lerp(a, Tensor.zeros([5], on: device), weight: 0.5)
        }
        let labels = try Tensor(int32: [1, 2, 3, 4], shape: [4], on: device)
        #expect(throws: TensorError.unsupportedDType(op: "lerp", dtype: .int32)) {
            try lerp(a, labels, weight: 0.5)
        }
    }

    @Test(arguments: TestDevices.all)
    func gradientsMatchFiniteDifferences(device: Device) throws {
        try AutogradTests.check("lerp broadcast", on: device, shapes: [[3, 4], [4], [3, 1]]) {
            try (lerp($0[0], $0[1], weight: $0[2]) * lerp($0[1], $0[0], weight: $0[2])).sum()
        }
        try AutogradTests.check("lerp views", on: device, shapes: [[4, 3], [3, 4]]) {
            try lerp($0[0].transposed(), $0[1], weight: 0.3).exp().sum()
        }
        try AutogradTests.check("lerp repeated operand", on: device, shapes: [[5], [5]]) {
            try (lerp($0[0], $0[0] * $0[0], weight: $0[1]) * lerp($0[0], $0[0], weight: $0[1])).sum()
        }
    }

    /// d/dstart = g (1 - w), d/dend = g w, d/dweight = g (end - start), reduced over broadcasts.
    @Test(arguments: TestDevices.all)
    func gradientsMatchFloat64Derivatives(device: Device) throws {
        let (a, b, w, c) = (Self.values(12, seed: 4), Self.values(4, seed: 5), Self.values(3, seed: 6), Self.values(12, seed: 7))
        let start = try Tensor(a, shape: [3, 4], on: device).requiringGrad()
        let end = try Tensor(b, shape: [4], on: device).requiringGrad()
        let weight = try Tensor(w, shape: [3, 1], on: device).requiringGrad()
        let output = try lerp(start, end, weight: weight)
        #expect(output.retainedBytesByOp() == ["lerp": (12 + 4 + 3) * 4], "backward keeps the three inputs only")
        try (output * Tensor(c, shape: [3, 4], on: device)).sum().backward()
        let gStart = (0..<12).map { Double(c[$0]) * (1 - Double(w[$0 / 4])) }
        let gEnd = (0..<4).map { j in (0..<3).reduce(0.0) { $0 + Double(c[$1 * 4 + j]) * Double(w[$1]) } }
        let gWeight = (0..<3).map { r in
            (0..<4).reduce(0.0) { $0 + Double(c[r * 4 + $1]) * (Double(b[$1]) - Double(a[r * 4 + $1])) }
        }
        for (tensor, reference) in [(start, gStart), (end, gEnd), (weight, gWeight)] {
            let got = try #require(tensor.grad).toArray()
            for (g, want) in zip(got, reference) {
                #expect(Swift.abs(Double(g) - want) <= 1e-5 * max(1, Swift.abs(want)), "\(g) vs \(want) on \(device.identifier)")
            }
        }
        #expect(try withNoGrad { try lerp(start, end, weight: weight) }.requiresGrad == false)
        // An empty result: every input's gradient is zero, of its own shape.
        let empty = try Tensor.zeros([0, 3], on: device).requiringGrad()
        let row = try Tensor.ones([3], on: device).requiringGrad()
        try lerp(empty, row, weight: 0.5).sum().backward()
        #expect(try #require(empty.grad).shape == [0, 3])
        #expect(try #require(row.grad).toArray() == [0, 0, 0])
    }
}
