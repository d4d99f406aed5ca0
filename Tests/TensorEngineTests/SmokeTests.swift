import Testing
@testable import TensorEngine
@Test func activationReference() { #expect(Activation.relu.forward(-1) == 0) }
