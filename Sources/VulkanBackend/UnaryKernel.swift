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
    public func unary(_ op: UnaryOp, _ a: any BackendBuffer, layout: StridedLayout,
                      into out: any BackendBuffer) throws(TensorError) {
        let source = try buffer(a, "unary")
        let target = try buffer(out, "unary")
        try requireInside(layout, of: source, op: "unary")
        let count = layout.elementCount
        guard count > 0 else { return }
        guard count <= target.elementCount else {
            throw .invalidArgument(op: "unary", reason: "output holds \(target.elementCount) elements, \(count) needed")
        }
        var push = PushConstants()
        push.append(count)
        try push.appendInputLayout(layout, op: "unary")
        try dispatch(.unary, constants: SpecConstants([0: UInt32(bitPattern: op.kernelCode)]),
                     buffers: [(source, .read), (target, .write)], push: push, groups: elementwiseGroups(count))
    }
}
