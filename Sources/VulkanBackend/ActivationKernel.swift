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
    ///
    /// A float16 / bfloat16 input or output (`types.a`, `types.c`) runs the 16-bit storage
    /// variant (float32 arithmetic, rounded to nearest even on store; 16-bit storage needed).
    public func activate(_ activation: Activation, _ input: any BackendBuffer, layout: StridedLayout,
                         into output: any BackendBuffer, types: OperandTypes = .float32) throws(TensorError) {
        let types = OperandTypes(a: types.a, c: types.c)   // binding 1 (unused) stays float32
        try requireStorage16(types, op: "activate")
        let source = try buffer(input, "activate")
        let target = try buffer(output, "activate")
        try requireInside(layout, of: source, op: "activate", dtype: types.a)
        let count = layout.elementCount
        guard count > 0 else { return }
        let capacity = target.byteCount / types.c.byteSize
        guard count <= capacity else {
            throw .invalidArgument(op: "activate", reason: "output holds \(capacity) elements, \(count) needed")
        }
        var push = PushConstants()
        push.append(count)
        push.append(activation.parameter)
        try push.appendInputLayout(layout, op: "activate")
        var constants = SpecConstants([0: UInt32(bitPattern: activation.kernelCode), 1: 0])
        if !types.isFloat32 { constants.set(2, types.kernelCode) }
        try dispatch(types.isFloat32 ? .activation : .activationStorage16, constants: constants,
                     buffers: [(source, .read), (placeholder, .unused), (target, .write)], push: push,
                     groups: elementwiseGroups(count))
    }

    /// `gradInput[i] = gradOutput[i] * f'(input[i])`, with the exact derivative.
    ///
    /// float16 / bfloat16 operands (`types`: input, gradOutput, gradInput) run the 16-bit
    /// storage variant (float32 arithmetic, rounded to nearest even on store; 16-bit storage
    /// needed).
    public func activationBackward(_ activation: Activation, input: any BackendBuffer,
                                   gradOutput: any BackendBuffer, count: Int,
                                   into gradInput: any BackendBuffer, types: OperandTypes = .float32) throws(TensorError) {
        try requireStorage16(types, op: "activationBackward")
        let source = try buffer(input, "activationBackward")
        let gradient = try buffer(gradOutput, "activationBackward")
        let target = try buffer(gradInput, "activationBackward")
        guard count > 0 else { return }
        let flat = StridedLayout.contiguous([count])
        try requireInside(flat, of: source, op: "activationBackward", dtype: types.a)
        try requireInside(flat, of: gradient, op: "activationBackward", dtype: types.b)
        let capacity = target.byteCount / types.c.byteSize
        guard count <= capacity else {
            throw .invalidArgument(op: "activationBackward", reason: "gradInput holds \(capacity) elements, \(count) needed")
        }
        var push = PushConstants()
        push.append(count)
        push.append(activation.parameter)
        try push.appendInputLayout(.contiguous([count]), op: "activationBackward")   // unused by the backward
        var constants = SpecConstants([0: UInt32(bitPattern: activation.kernelCode), 1: 1])
        if !types.isFloat32 { constants.set(2, types.kernelCode) }
        try dispatch(types.isFloat32 ? .activation : .activationStorage16, constants: constants,
                     buffers: [(source, .read), (gradient, .read), (target, .write)], push: push,
                     groups: elementwiseGroups(count))
    }
}
