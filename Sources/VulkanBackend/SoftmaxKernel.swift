import TensorCore

extension VulkanDevice {
    /// Row-wise (log-)softmax (Shaders/softmax.comp): one 256-lane workgroup per row.
    public func softmax(_ input: any BackendBuffer, rows: Int, columns: Int, logarithm: Bool,
                        into output: any BackendBuffer) throws(TensorError) {
        let source = try buffer(input, "softmax")
        let target = try buffer(output, "softmax")
        guard rows > 0, columns > 0 else { return }
        var push = PushConstants()
        push.append(rows)
        push.append(columns)
        try dispatch(.softmax, constants: SpecConstants([0: logarithm ? 1 : 0]),
                     buffers: [(source, .read), (target, .write)], push: push,
                     groups: (min(rows, maxGroupCount.x), 1, 1))
    }
}
