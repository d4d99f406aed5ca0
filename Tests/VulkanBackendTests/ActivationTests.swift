import Testing
import TensorCore
@testable import VulkanBackend

extension VulkanTests {
    @Suite struct Activations {
        /// Inputs across the interesting ranges: tails, around 0, exact 0 and kinks.
        static let inputs: [Float] = {
            var values: [Float] = [0, -0.0, 1, -1, 1e-6, -1e-6, 1e-3, -1e-3, 20, -20, 40, -40, 88, -88]
            var random = TestRandom(seed: 11)
            values += random.floats(1000, -8, 8)
            values += random.floats(257, -0.01, 0.01)
            return values
        }()

        @Test(arguments: Activation.allCases + [.leakyReLU(slope: 0.2), .elu(alpha: 0.5)])
        func forward(activation: Activation) throws {
            let device = try Fixture.device
            let input = try device.upload(Self.inputs)
            let out = try device.makeBuffer(elementCount: Self.inputs.count)
            try device.activate(activation, input, count: Self.inputs.count, into: out)
            let expected = Self.inputs.map { activation.forward(Double($0)) }
            let actual = try device.download(out, count: Self.inputs.count)
            expectClose(actual, expected, nmse: 1e-12, maxError: 2e-6, "\(activation) forward")
            // Relative accuracy where the value is small but not zero (tails). Below 1e-9 the
            // float64 reference itself (1 + erf(x / sqrt 2) for GELU) loses its relative accuracy.
            for (input, (value, reference)) in zip(Self.inputs, zip(actual, expected)) where abs(reference) > 1e-9 && abs(reference) < 1e-3 && abs(input) <= 20 {
                #expect(abs(Double(value) - reference) <= 1e-5 * abs(reference) + 1e-37,
                        "\(activation): \(value) vs \(reference)")
            }
            Fixture.expectNoValidationMessages()
        }

        @Test(arguments: Activation.allCases + [.leakyReLU(slope: 0.2), .elu(alpha: 0.5)])
        func backward(activation: Activation) throws {
            let device = try Fixture.device
            var random = TestRandom(seed: 13)
            let gradOut = random.floats(Self.inputs.count, -2, 2)
            let input = try device.upload(Self.inputs)
            let gradient = try device.upload(gradOut)
            let out = try device.makeBuffer(elementCount: Self.inputs.count)
            try device.activationBackward(activation, input: input, gradOutput: gradient,
                                          count: Self.inputs.count, into: out)
            let expected = zip(Self.inputs, gradOut).map { Double($1) * activation.derivative(Double($0)) }
            expectClose(try device.download(out, count: Self.inputs.count), expected,
                        nmse: 1e-12, maxError: 2e-6, "\(activation) backward")
            Fixture.expectNoValidationMessages()
        }
    }
}
