import Foundation
import TestSupport
import Testing
import TensorEngine

/// Named parameters and loading them by name (PyTorch's `named_parameters` / `load_state_dict`).
@Suite(.vulkanValidation) struct ModuleTests {
    @Test(arguments: TestDevices.all)
    func namesFollowTheModuleTree(device: Device) throws {
        let model = try Sequential([Linear(3, 4, seed: 1, on: device), Linear(4, 2, bias: false, seed: 2, on: device)])
        #expect(model.namedParameters.map(\.name) == ["0.weight", "0.bias", "1.weight"])
        #expect(model.parameter(named: "1.weight")?.shape == [4, 2])
        #expect(model.parameter(named: "1.bias") == nil)
        #expect(model.parameters.count == 3)
    }

    @Test(arguments: TestDevices.all)
    func loadParametersCopiesInPlaceAndChecksNamesAndShapes(device: Device) throws {
        let layer = try Linear(2, 3, seed: 1, on: device)
        let optimizerView = layer.parameters[0]
        let weight: [Float] = [1, 2, 3, 4, 5, 6]
        // A value on the CPU in float16 is moved and cast.
        let half = try Tensor(weight, shape: [2, 3], on: .cpu).cast(to: .float16)
        try layer.loadParameters(["weight": half, "bias": Tensor([7, 8, 9], shape: [3], on: device)])
        #expect(try optimizerView.toArray() == weight)
        #expect(try layer.bias!.toArray() == [7, 8, 9])
        #expect(throws: TensorError.self) { try layer.loadParameters(["weight": half]) }          // bias missing
        #expect(throws: TensorError.self) {                                                      // unexpected name
            try layer.loadParameters(["weight": half, "bias": Tensor.zeros([3], on: device), "extra": half])
        }
        #expect(throws: TensorError.self) { try layer.loadParameters(["weight": Tensor.zeros([3, 2], on: device)], strict: false) }
        try layer.loadParameters(["bias": Tensor.zeros([3], on: device)], strict: false)
        #expect(try layer.bias!.toArray() == [0, 0, 0])
        #expect(try layer.weight.toArray() == weight)
    }
}
