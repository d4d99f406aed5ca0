import Foundation
import TestSupport
import Testing
import TensorEngine

/// Cross-entropy with ignored rows and the device-side one-hot it is built on, against
/// float64 references, on every device.
@Suite(.vulkanValidation) struct CrossEntropyTests {
    static let logits: [Float] = [2, -1, 0.5, 0, 40, -40, 3, 3, 3, -2, 0.25, 1]
    static let labels: [Int32] = [0, -100, 2, 1]

    @Test(arguments: TestDevices.all)
    func ignoredRowsLeaveTheMeanAndTheGradient(device: Device) throws {
        let z = try Tensor(Self.logits, shape: [4, 3], on: device).requiringGrad()
        let y = try Tensor(int32: Self.labels, shape: [4], on: device)
        let loss = try softmaxCrossEntropy(logits: z, labels: y)
        try loss.backward()
        // float64 reference: mean over the three counted rows of -log softmax at the label.
        var total = 0.0
        var expectedGradient = [Double](repeating: 0, count: 12)
        let counted = Self.labels.filter { $0 != -100 }.count
        for row in 0..<4 where Self.labels[row] != -100 {
            let values = (0..<3).map { Double(Self.logits[row * 3 + $0]) }
            let top = values.max()!
            let sum = values.reduce(0) { $0 + Foundation.exp($1 - top) }
            total -= values[Int(Self.labels[row])] - top - Foundation.log(sum)
            for c in 0..<3 {
                let p = Foundation.exp(values[c] - top) / sum
                expectedGradient[row * 3 + c] = (p - (c == Int(Self.labels[row]) ? 1 : 0)) / Double(counted)
            }
        }
        #expect(Swift.abs(Double(try loss.item()) - total / Double(counted)) < 1e-6)
        let gradient = try z.grad!.toArray()
        for i in 0..<12 { #expect(Swift.abs(Double(gradient[i]) - expectedGradient[i]) < 1e-6, "element \(i)") }
        #expect(gradient[3..<6].allSatisfy { $0 == 0 }, "the ignored row gets no gradient")
    }

    @Test(arguments: TestDevices.all)
    func oneHotOnTheDevice(device: Device) throws {
        let y = try Tensor(int32: [2, 0, -100, 7, -1], shape: [5], on: device)
        let rows = try oneHot(y, classes: 3).toArray()
        #expect(Array(rows[0..<9]) == [0, 0, 1, 1, 0, 0, 0, 0, 0])
        #expect(rows[9..<15].allSatisfy { $0.isNaN }, "labels outside 0..<3 give NaN rows")
        #expect(try oneHot(Tensor(int32: [], shape: [0], on: device), classes: 4).shape == [0, 4])
    }

    @Test(arguments: TestDevices.all)
    func everyRowIgnoredIsNaNAsInPyTorch(device: Device) throws {
        let z = try Tensor([1, 2, 3, 4], shape: [2, 2], on: device)
        let y = try Tensor(int32: [-100, -100], shape: [2], on: device)
        #expect(try softmaxCrossEntropy(logits: z, labels: y).item().isNaN)
        let custom = try Tensor(int32: [5, 1], shape: [2], on: device)
        let value = try softmaxCrossEntropy(logits: z, labels: custom, ignoreIndex: 5).item()
        #expect(Swift.abs(Double(value) - Foundation.log(1 + Foundation.exp(-1.0))) < 1e-6)
    }

    @Test(arguments: TestDevices.all)
    func outOfRangeLabelsThrow(device: Device) throws {
        let z = try Tensor([1, 2, 3, 4], shape: [2, 2], on: device)
        let y = try Tensor(int32: [0, 2], shape: [2], on: device)
        #expect(throws: TensorError.invalidArgument(op: "softmaxCrossEntropy", reason: "label 2 at row 1 is outside 0..<2")) {
            _ = try softmaxCrossEntropy(logits: z, labels: y)
        }
    }
}
