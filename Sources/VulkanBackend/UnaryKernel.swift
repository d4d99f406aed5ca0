import TensorCore

extension VulkanDevice {
    /// `out[i] = op(a[i])` for exp, log, sqrt, abs (Shaders/unary.comp, the op a specialisation constant).
    public func unary(_ op: UnaryOp, _ a: any BackendBuffer, count: Int, into out: any BackendBuffer) throws(TensorError) {
        try unary(op, a, layout: .contiguous([count]), into: out)
    }

    /// `out[i] = op(a[layout(i)])`: the shader reads any strided view in place.
    ///
    /// ```swift
    /// try gpu.unary(.exp, m, layout: StridedLayout(shape: [5, 3], strides: [1, 5]), into: t)
    /// ```
    ///
    /// A float16 / bfloat16 input or output (`types.a`, `types.c`) runs the 16-bit storage
    /// variant (float32 arithmetic, rounded to nearest even on store; 16-bit storage needed).
    public func unary(_ op: UnaryOp, _ a: any BackendBuffer, layout: StridedLayout,
                      into out: any BackendBuffer, types: OperandTypes = .float32) throws(TensorError) {
        let types = OperandTypes(a: types.a, c: types.c)   // no second operand
        try requireStorage16(types, op: "unary")
        let source = try buffer(a, "unary")
        let target = try buffer(out, "unary")
        try requireInside(layout, of: source, op: "unary", dtype: types.a)
        let count = layout.elementCount
        guard count > 0 else { return }
        let capacity = target.byteCount / types.c.byteSize
        guard count <= capacity else {
            throw .invalidArgument(op: "unary", reason: "output holds \(capacity) elements, \(count) needed")
        }
        var push = PushConstants()
        push.append(count)
        try push.appendInputLayout(layout, op: "unary")
        var constants = SpecConstants([0: UInt32(bitPattern: op.kernelCode)])
        if !types.isFloat32 { constants.set(1, types.kernelCode) }
        try dispatch(types.isFloat32 ? .unary : .unaryStorage16, constants: constants,
                     buffers: [(source, .read), (target, .write)], push: push, groups: elementwiseGroups(count))
    }
}
