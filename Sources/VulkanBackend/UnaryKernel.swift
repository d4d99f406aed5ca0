import TensorCore

extension VulkanDevice {
    /// `out[i] = op(a[i])` for exp, log, sqrt, abs (Shaders/unary.comp, the op a specialisation constant).
    public func unary(_ op: UnaryOp, _ a: any BackendBuffer, count: Int, into out: any BackendBuffer) throws(TensorError) {
        let source = try buffer(a, "unary")
        let target = try buffer(out, "unary")
        guard count > 0 else { return }
        var push = PushConstants()
        push.append(count)
        try dispatch(.unary, constants: SpecConstants([0: UInt32(bitPattern: op.kernelCode)]),
                     buffers: [(source, .read), (target, .write)], push: push, groups: elementwiseGroups(count))
    }
}
