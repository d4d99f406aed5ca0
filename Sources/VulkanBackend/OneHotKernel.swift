import TensorCore

extension VulkanDevice {
    /// float32 one-hot rows of int32 `labels` (Shaders/onehot.comp; the rules of ``BackendOp/oneHot``).
    ///
    /// ```swift
    /// try gpu.oneHot(labels, rows: 32, classes: 10, ignoreIndex: -100, into: targets)
    /// ```
    public func oneHot(_ labels: any BackendBuffer, rows: Int, classes: Int, ignoreIndex: Int32,
                       into output: any BackendBuffer) throws(TensorError) {
        let source = try buffer(labels, "oneHot")
        let target = try buffer(output, "oneHot")
        let count = rows * classes
        guard count > 0 else { return }
        guard rows <= source.elementCount, count <= target.elementCount else {
            throw .invalidArgument(op: "oneHot", reason: "\(rows) labels x \(classes) classes do not fit the buffers")
        }
        var push = PushConstants()
        push.append(count)
        push.append(classes)
        push.append(UInt32(bitPattern: ignoreIndex))
        try dispatch(.oneHot, buffers: [(source, .read), (target, .write)], push: push, groups: elementwiseGroups(count))
    }
}
