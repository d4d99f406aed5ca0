import TensorCore

extension VulkanDevice {
    /// Diagnostic: records Shaders/spin.comp, `groups` workgroups of one invocation that each
    /// run `steps` iterations of 16 dependent multiply-adds x = x * data[0] + 0.5 (from 0) and
    /// write x to `data[1 + group]`. No op runs it; it keeps the queue busy for a chosen time,
    /// to exercise ``fenceTimeout``. `data` holds at least `groups + 1` floats.
    ///
    /// ```swift
    /// try gpu.spin(data, groups: 64, steps: 65535)
    /// try gpu.synchronize()
    /// ```
    package func spin(_ data: any BackendBuffer, groups: Int, steps: Int) throws(TensorError) {
        let target = try buffer(data, "spin")
        guard groups >= 1, groups <= maxGroupCount.x else {
            throw .invalidArgument(op: "spin", reason: "groups \(groups) outside 1...\(maxGroupCount.x)")
        }
        guard target.size >= 4 * (groups + 1) else {
            throw .invalidArgument(op: "spin", reason: "needs \(groups + 1) floats, the buffer has \(target.size) bytes")
        }
        guard steps >= 0, steps <= Int(UInt32.max) else {
            throw .invalidArgument(op: "spin", reason: "steps \(steps) outside 0...\(UInt32.max)")
        }
        var push = PushConstants()
        push.append(steps)
        try dispatch(.spin, buffers: [(target, .readWrite)], push: push, groups: (groups, 1, 1))
    }
}
