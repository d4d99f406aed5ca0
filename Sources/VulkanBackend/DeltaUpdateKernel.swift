import TensorCore

extension VulkanDevice {
    /// A delta network's input update (Shaders/delta_update.comp; the rules of ``BackendOp/deltaUpdate``).
    ///
    /// ```swift
    /// try gpu.deltaUpdate(x, reference: xRef, theta: 0.01, count: k, delta: d, transmitted: count)
    /// ```
    public func deltaUpdate(_ input: any BackendBuffer, reference: any BackendBuffer, theta: Float, count: Int,
                            delta: any BackendBuffer, transmitted: any BackendBuffer) throws(TensorError) {
        let source = try buffer(input, "deltaUpdate"), kept = try buffer(reference, "deltaUpdate")
        let changes = try buffer(delta, "deltaUpdate"), counter = try buffer(transmitted, "deltaUpdate")
        guard count > 0 else { return }
        guard count <= source.elementCount, count <= kept.elementCount, count <= changes.elementCount,
              counter.elementCount >= 1 else {
            throw .invalidArgument(op: "deltaUpdate", reason: "\(count) elements do not fit the buffers")
        }
        var push = PushConstants()
        push.append(count)
        push.append(theta)
        try dispatch(.deltaUpdate, buffers: [(source, .read), (kept, .readWrite), (changes, .write), (counter, .readWrite)],
                     push: push, groups: elementwiseGroups(count))
    }
}
