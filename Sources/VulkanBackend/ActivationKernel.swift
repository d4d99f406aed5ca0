import TensorCore

extension VulkanDevice {
    /// `output[i] = f(input[i])` (Shaders/activation.comp, the activation a specialisation constant).
    public func activate(_ activation: Activation, _ input: any BackendBuffer, count: Int,
                         into output: any BackendBuffer) throws(TensorError) {
        try activate(activation, input, layout: .contiguous([count]), into: output)
    }

    /// `output[i] = f(input[layout(i)])`: the shader reads any strided view in place.
    ///
    /// ```swift
    /// try gpu.activate(.gelu, m, layout: StridedLayout(shape: [5, 3], strides: [1, 5]), into: t)
    /// ```
    public func activate(_ activation: Activation, _ input: any BackendBuffer, layout: StridedLayout,
                         into output: any BackendBuffer) throws(TensorError) {
        let source = try buffer(input, "activate")
        let target = try buffer(output, "activate")
        try requireInside(layout, of: source, op: "activate")
        let count = layout.elementCount
        guard count > 0 else { return }
        guard count <= target.elementCount else {
            throw .invalidArgument(op: "activate", reason: "output holds \(target.elementCount) elements, \(count) needed")
        }
        var push = PushConstants()
        push.append(count)
        push.append(activation.parameter)
        try push.appendInputLayout(layout, op: "activate")
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
        try push.appendInputLayout(.contiguous([count]), op: "activationBackward")   // unused by the backward
        try dispatch(.activation, constants: SpecConstants([0: UInt32(bitPattern: activation.kernelCode), 1: 1]),
                     buffers: [(source, .read), (gradient, .read), (target, .write)], push: push,
                     groups: elementwiseGroups(count))
    }
}
