import Foundation
import TestSupport
import Testing
import TensorEngine

/// Ops that read views in place (no contiguous copy first): sums, elementwise functions,
/// activations and softmax of transposed, permuted and broadcast views, on every device,
/// against float64 references computed from the values.
@Suite(.vulkanValidation) struct StridedViewTests {
    static let rows = 5, columns = 7
    static let values: [Float] = (0..<35).map { Float(($0 * 37) % 23) / 7 - 1.5 }

    /// Element [i, j] of the transpose.
    static func transposed(_ i: Int, _ j: Int) -> Double { Double(values[j * columns + i]) }

    @Test(arguments: TestDevices.all)
    func reductionsOfATransposeAndABroadcast(device: Device) throws {
        let t = try Tensor(Self.values, shape: [Self.rows, Self.columns], on: device).transposed()   // [7, 5]
        let rowSums = try t.sum(axis: 1).toArray()
        let columnMeans = try t.mean(axis: 0).toArray()
        for i in 0..<Self.columns {
            let expected = (0..<Self.rows).reduce(0.0) { $0 + Self.transposed(i, $1) }
            #expect(Swift.abs(Double(rowSums[i]) - expected) < 1e-5)
        }
        for j in 0..<Self.rows {
            let expected = (0..<Self.columns).reduce(0.0) { $0 + Self.transposed($1, j) } / Double(Self.columns)
            #expect(Swift.abs(Double(columnMeans[j]) - expected) < 1e-5)
        }
        let row = try Tensor([1, 2, 3], shape: [1, 3], on: device).expanded(to: [4, 3])
        #expect(try row.sum(axis: 0).toArray() == [4, 8, 12])
        let cube = try Tensor((0..<24).map(Float.init), shape: [2, 3, 4], on: device).permuted([2, 0, 1])   // [4, 2, 3]
        let middle = try cube.sum(axis: 1).toArray()   // [4, 3]: sum over the original axis 0
        for k in 0..<4 { for j in 0..<3 {
            #expect(middle[k * 3 + j] == Float((j * 4 + k) + (12 + j * 4 + k)))
        } }
    }

    @Test(arguments: TestDevices.all)
    func elementwiseActivationAndSoftmaxOfATranspose(device: Device) throws {
        let t = try Tensor(Self.values, shape: [Self.rows, Self.columns], on: device).transposed()
        let exps = try t.exp().toArray(), gelus = try gelu(t).toArray(), soft = try softmax(t).toArray()
        for i in 0..<Self.columns {
            let row = (0..<Self.rows).map { Self.transposed(i, $0) }
            let top = row.max()!, total = row.reduce(0) { $0 + Foundation.exp($1 - top) }
            for j in 0..<Self.rows {
                let x = row[j], index = i * Self.rows + j
                #expect(Swift.abs(Double(exps[index]) - Foundation.exp(x)) < 1e-5 * Foundation.exp(x))
                #expect(Swift.abs(Double(gelus[index]) - Activation.gelu.forward(x)) < 1e-5)
                #expect(Swift.abs(Double(soft[index]) - Foundation.exp(x - top) / total) < 1e-6)
            }
        }
    }
}
