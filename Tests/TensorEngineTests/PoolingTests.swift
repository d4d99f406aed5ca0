import Foundation
import TestSupport
import Testing
import TensorEngine

/// Masked mean pooling and L2 normalisation against float64, with gradients against finite
/// differences.
@Suite(.vulkanValidation) struct PoolingTests {
    @Test(arguments: TestDevices.all)
    func meanPoolCountsOnlyRealTokens(device: Device) throws {
        let (batch, length, features) = (3, 5, 4)
        let values = (0..<(batch * length * features)).map { Float(sin(Double($0))) }
        let maskValues: [Int32] = [1, 1, 1, 0, 0,  1, 1, 1, 1, 1,  0, 0, 0, 0, 0]
        let x = try Tensor(values, shape: [batch, length, features], on: device)
        let mask = try Tensor(rawBytes: maskValues.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) },
                              shape: [batch, length], dtype: .int32, on: device)
        let got = try meanPool(x, mask: mask).toArray()
        var expected: [Double] = []
        for b in 0..<batch {
            let real = (0..<length).filter { maskValues[b * length + $0] != 0 }
            for f in 0..<features {
                let sum = real.reduce(0.0) { $0 + Double(values[(b * length + $1) * features + f]) }
                expected.append(real.isEmpty ? 0 : sum / Double(real.count))
            }
        }
        #expect(nmse(got, expected) < 1e-12, "meanPool on \(device.identifier)")
        #expect(got[(2 * features)..<(3 * features)].allSatisfy { $0 == 0 }, "an all-padding row pools to 0")
        #expect(throws: TensorError.self) { try meanPool(x, mask: Tensor.ones([batch, length + 1], on: device)) }
        #expect(throws: TensorError.self) { try meanPool(Tensor.ones([4, 4], on: device), mask: nil) }
    }

    @Test(arguments: TestDevices.all)
    func l2NormalizeMatchesFloat64AndKeepsZeroRows(device: Device) throws {
        let values: [Float] = [3, 4, 0, 0, 0, 0, 1e-20, 0, -2, 1, 2, 4]
        let x = try Tensor(values, shape: [4, 3], on: device)
        let got = try l2Normalize(x).toArray()
        var expected: [Double] = []
        for r in 0..<4 {
            let row = values[(r * 3)..<(r * 3 + 3)].map(Double.init)
            let norm = max(row.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
            expected += row.map { $0 / norm }
        }
        #expect(nmse(got, expected) < 1e-12, "l2Normalize on \(device.identifier): \(got)")
        let columns = try l2Normalize(x, axis: 0).toArray()
        #expect(abs(columns[0] - 3 / Float(10).squareRoot()) < 1e-6)   // column 0 is 3, 0, 1e-20, 1
    }

    @Test(arguments: TestDevices.all)
    func gradientsMatchFiniteDifferences(device: Device) throws {
        let values: [Float] = (0..<24).map { Float(cos(Double($0) * 0.7)) }
        let weights: [Float] = (0..<8).map { Float($0) * 0.25 - 1 }
        let mask = try Tensor([1, 1, 0, 1, 1, 1], shape: [2, 3], on: device)
        func loss(_ input: [Float]) throws -> (Double, [Float]) {
            let x = try Tensor(input, shape: [2, 3, 4], on: device).requiringGrad()
            let pooled = try l2Normalize(meanPool(x, mask: mask)).reshaped([8])
            let value = try (pooled * Tensor(weights, shape: [8], on: device)).sum()
            try value.backward()
            return (Double(try value.item()), try x.grad!.toArray())
        }
        let (_, analytic) = try loss(values)
        let step: Float = 1e-2
        for i in stride(from: 0, to: 24, by: 5) {
            var plus = values, minus = values
            plus[i] += step
            minus[i] -= step
            let numeric = (try loss(plus).0 - loss(minus).0) / Double(2 * step)
            #expect(abs(Double(analytic[i]) - numeric) < 2e-3, "d/dx[\(i)]: \(analytic[i]) vs \(numeric) on \(device.identifier)")
        }
        let zero = try Tensor.zeros([1, 3], on: device).requiringGrad()
        try l2Normalize(zero).sum().backward()
        #expect(try zero.grad!.toArray().allSatisfy { $0.isFinite }, "a zero row's gradient is finite")
    }
}
