import TensorCore

extension VulkanDevice {
    /// `out = a * scale + offset` elementwise (Shaders/scale_shift.comp).
    public func scaleShift(_ a: any BackendBuffer, scale: Float, offset: Float, count: Int,
                           into out: any BackendBuffer) throws(TensorError) {
        let source = try buffer(a, "scaleShift")
        let target = try buffer(out, "scaleShift")
        guard count > 0 else { return }
        var push = PushConstants()
        push.append(count)
        push.append(scale)
        push.append(offset)
        try dispatch(.scaleShift, buffers: [(source, .read), (target, .write)], push: push,
                     groups: elementwiseGroups(count))
    }
}
