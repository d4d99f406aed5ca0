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
    public func scaleShift(_ a: any BackendBuffer, layout: StridedLayout, scale: Float, offset: Float,
                           into out: any BackendBuffer) throws(TensorError) {
        let source = try buffer(a, "scaleShift")
        let target = try buffer(out, "scaleShift")
        try requireInside(layout, of: source, op: "scaleShift")
        let count = layout.elementCount
        guard count > 0 else { return }
        guard count <= target.elementCount else {
            throw .invalidArgument(op: "scaleShift", reason: "output holds \(target.elementCount) elements, \(count) needed")
        }
        var push = PushConstants()
        push.append(count)
        push.append(scale)
        push.append(offset)
        try push.appendInputLayout(layout, op: "scaleShift")
        try dispatch(.scaleShift, buffers: [(source, .read), (target, .write)], push: push,
                     groups: elementwiseGroups(count))
    }
}
