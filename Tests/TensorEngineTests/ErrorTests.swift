import TestSupport
import Testing
import TensorEngine

/// Bad input throws a TensorError naming the problem; nothing traps.
@Suite(.vulkanValidation) struct ErrorTests {
    func message(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "no error"
        } catch let error as TensorError {
            return error.description
        } catch {
            return "not a TensorError: \(error)"
        }
    }

    @Test func shapeMismatchesNameBothShapes() throws {
        let a = try Tensor.zeros([2, 3], on: .cpu)
        let b = try Tensor.zeros([4, 5], on: .cpu)
        let matmulMessage = message { _ = try matmul(a, b) }
        #expect(matmulMessage.contains("[2, 3]") && matmulMessage.contains("[4, 5]"), "\(matmulMessage)")
        let addMessage = message { _ = try a + b }
        #expect(addMessage.contains("[2, 3]") && addMessage.contains("[4, 5]"), "\(addMessage)")
        let linearMessage = message { _ = try linear(a, weight: b) }
        #expect(linearMessage.contains("[2, 3]") && linearMessage.contains("[4, 5]"), "\(linearMessage)")
        let w = try Tensor.zeros([3, 5], on: .cpu)
        let badBias = try Tensor.zeros([4], on: .cpu)
        let biasMessage = message { _ = try linear(a, weight: w, bias: badBias) }
        #expect(biasMessage.contains("[4]") && biasMessage.contains("[3, 5]"), "\(biasMessage)")
        let gradMessage = message { _ = try activationBackward(.relu, input: a, gradOutput: w) }
        #expect(gradMessage.contains("[2, 3]") && gradMessage.contains("[3, 5]"), "\(gradMessage)")
        let reshapeMessage = message { _ = try a.reshaped([4, 2]) }
        #expect(reshapeMessage.contains("[2, 3]") && reshapeMessage.contains("[4, 2]"), "\(reshapeMessage)")
    }

    @Test func invalidArgumentsThrow() throws {
        let a = try Tensor.zeros([2, 3], on: .cpu)
        #expect(throws: TensorError.self) { try Tensor([1, 2, 3], shape: [2, 2], on: .cpu) }
        #expect(throws: TensorError.self) { try Tensor([], shape: [-1], on: .cpu) }
        #expect(throws: TensorError.self) { try Tensor.zeros([-3], on: .cpu) }
        #expect(throws: TensorError.self) { try Tensor.zeros([Int.max, 4], on: .cpu) }
        #expect(throws: TensorError.self) { try a.sum(axis: 2) }
        #expect(throws: TensorError.self) { try a.mean(axis: -3) }
        #expect(throws: TensorError.self) { try a.reshaped([-1, -1]) }
        #expect(throws: TensorError.self) { try a.permuted([0, 0]) }
        #expect(throws: TensorError.self) { try Tensor.zeros([3], on: .cpu).transposed() }
        #expect(throws: TensorError.self) { try a.item() }
        #expect(throws: TensorError.self) { try matmul(Tensor(scalar: 1, on: .cpu), a) }
        let labels = try Tensor(int32: [Int32(1), 2], shape: [2], on: .cpu)
        #expect(throws: TensorError.self) { try relu(labels) }
        #expect(throws: TensorError.self) { try labels + labels }
        #expect(throws: TensorError.self) { try labels.sum(axis: 0) }
        #expect(throws: TensorError.self) { try a.toInt32Array() }
    }

    @Test func operandsOnDifferentDevicesThrow() throws {
        guard let gpu = TestDevices.all.first(where: { $0.kind == .vulkan }) else { return }
        let a = try Tensor.zeros([2, 2], on: .cpu)
        let b = try Tensor.zeros([2, 2], on: gpu)
        let text = message { _ = try a + b }
        #expect(text.contains("different devices"), "\(text)")
    }
}
