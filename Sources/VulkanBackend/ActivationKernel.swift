import TensorCore

extension VulkanDevice {
    /// `output[i] = f(input[i])` (Shaders/activation.comp, the activation a specialisation constant).
    public func activate(_ activation: Activation, _ input: any BackendBuffer, count: Int,
                         into output: any BackendBuffer) throws(TensorError) {
        let source = try buffer(input, "activate")
        let target = try buffer(output, "activate")
        guard count > 0 else { return }
        var push = PushConstants()
        push.append(count)
        push.append(activation.parameter)
        try dispatch(.activation, constants: SpecConstants([0: UInt32(bitPattern: activation.kernelCode), 1: 0]),
                     buffers: [(source, .read), (placeholder, .unused), (target, .write)], push: push,
                     groups: elementwiseGroups(count))
    }

    /// `gradInput[i] = gradOutput[i] * f'(input[i])`, with the exact derivative.
    public func activationBackward(_ activation: Activation, input: any BackendBuffer,
                                   gradOutput: any BackendBuffer, count: Int,
                                   into gradInput: any BackendBuffer) throws(TensorError) {
        let source = try buffer(input, "activationBackward")
        let gradient = try buffer(gradOutput, "activationBackward")
        let target = try buffer(gradInput, "activationBackward")
        guard count > 0 else { return }
        var push = PushConstants()
        push.append(count)
        push.append(activation.parameter)
        try dispatch(.activation, constants: SpecConstants([0: UInt32(bitPattern: activation.kernelCode), 1: 1]),
                     buffers: [(source, .read), (gradient, .read), (target, .write)], push: push,
                     groups: elementwiseGroups(count))
    }
}
