import Foundation
import TestSupport
import Testing
import TensorEngine

/// End-to-end training on the real digits data (UCI handwritten digits, 1797 x 64).
@Suite(.vulkanValidation) struct TrainingTests {
    static func digits(on device: Device) throws -> (x: Tensor, y: Tensor, labels: [Int32]) {
        let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Benchmarks/data").standardized
        let x = try Tensor(npyFile: data.appendingPathComponent("digits_x.npy").path, on: device)
        let y = try Tensor(npyFile: data.appendingPathComponent("digits_y.npy").path, on: device)
        return (x, y, try y.toInt32Array())
    }

    static func accuracy(_ logits: Tensor, _ labels: ArraySlice<Int32>) throws -> Double {
        let values = try logits.toArray()
        let classes = logits.shape[1]
        var correct = 0
        for (row, label) in labels.enumerated() {
            let scores = values[(row * classes)..<((row + 1) * classes)]
            if scores.firstIndex(of: scores.max()!)! - row * classes == Int(label) { correct += 1 }
        }
        return Double(correct) / Double(labels.count)
    }

    @Test(arguments: TestDevices.all, ["adam", "sgd"])
    func mlpLearnsDigits(device: Device, optimizerName: String) throws {
        let (x, _, labels) = try Self.digits(on: device)
        let trainCount = 1400
        let pixels = try x.toArray()
        let xTest = try Tensor(Array(pixels[(trainCount * 64)...]), shape: [1797 - trainCount, 64], on: device)
        // Minibatches of 200 rows, cycling through the training set.
        let batch = 200
        let batches = try (0..<(trainCount / batch)).map { index throws -> (Tensor, Tensor) in
            let rows = (index * batch)..<((index + 1) * batch)
            return (try Tensor(Array(pixels[(rows.lowerBound * 64)..<(rows.upperBound * 64)]), shape: [batch, 64], on: device),
                    try Tensor(int32: Array(labels[rows]), shape: [batch], on: device))
        }
        let model = Sequential([
            try Linear(64, 64, activation: .gelu, seed: 1, on: device),
            try Linear(64, 10, seed: 2, on: device),
        ])
        let optimizer: any Optimizer = optimizerName == "adam"
            ? Adam(parameters: model.parameters, learningRate: 1e-2)
            : SGD(parameters: model.parameters, learningRate: 0.1, momentum: 0.9)
        var losses: [Float] = []
        for step in 0..<70 {
            let (xBatch, yBatch) = batches[step % batches.count]
            optimizer.zeroGrad()
            let loss = try softmaxCrossEntropy(logits: model(xBatch), labels: yBatch)
            try loss.backward()
            try optimizer.step()
            losses.append(try loss.item())
        }
        let accuracy = try Self.accuracy(try withNoGrad { () throws(TensorError) in try model(xTest) }, labels[trainCount...])
        let early = losses[0..<7].reduce(0, +) / 7, late = losses[63...].reduce(0, +) / 7
        #expect(late < early * 0.2, "\(optimizerName): loss \(early) -> \(late)")
        #expect(accuracy > 0.88, "\(optimizerName) test accuracy \(accuracy)")
    }
}
