import TensorCore

extension VulkanDevice {
    /// Sets the first `count` elements of `buffer` to `value` (Shaders/fill.comp).
    public func fill(_ buffer: any BackendBuffer, value: Float, count: Int) throws(TensorError) {
        let target = try self.buffer(buffer, "fill")
        guard count > 0 else { return }
        var push = PushConstants()
        push.append(count)
        push.append(value)
        try dispatch(.fill, buffers: [(target, .write)], push: push, groups: elementwiseGroups(count))
    }
}
