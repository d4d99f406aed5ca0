import TensorCore

extension VulkanDevice {
    /// `out = a * scale + offset` elementwise (Shaders/scale_shift.comp).
    public func scaleShift(_ a: any BackendBuffer, scale: Float, offset: Float, count: Int,
                           into out: any BackendBuffer) throws(TensorError) {
        try scaleShift(a, layout: .contiguous([count]), scale: scale, offset: offset, into: out)
    }

    /// `out[i] = a[layout(i)] * scale + offset`: the shader reads any strided view in place.
    ///
    /// ```swift
    /// try gpu.scaleShift(m, layout: StridedLayout(shape: [5, 3], strides: [1, 5]), scale: 2, offset: 1, into: t)
    /// ```
    ///
    /// A float16 / bfloat16 input or output (`types.a`, `types.c`) runs the 16-bit storage
    /// variant (float32 arithmetic, rounded to nearest even on store; 16-bit storage needed).
    public func scaleShift(_ a: any BackendBuffer, layout: StridedLayout, scale: Float, offset: Float,
                           into out: any BackendBuffer, types: OperandTypes = .float32) throws(TensorError) {
        let types = OperandTypes(a: types.a, c: types.c)   // no second operand
        try requireStorage16(types, op: "scaleShift")
        let source = try buffer(a, "scaleShift")
        let target = try buffer(out, "scaleShift")
        try requireInside(layout, of: source, op: "scaleShift", dtype: types.a)
        let count = layout.elementCount
        guard count > 0 else { return }
        let capacity = target.byteCount / types.c.byteSize
        guard count <= capacity else {
            throw .invalidArgument(op: "scaleShift", reason: "output holds \(capacity) elements, \(count) needed")
        }
        var push = PushConstants()
        push.append(count)
        push.append(scale)
        push.append(offset)
        try push.appendInputLayout(layout, op: "scaleShift")
        try dispatch(types.isFloat32 ? .scaleShift : .scaleShiftStorage16,
                     constants: types.isFloat32 ? SpecConstants() : SpecConstants([0: types.kernelCode]),
                     buffers: [(source, .read), (target, .write)], push: push, groups: elementwiseGroups(count))
    }
}
