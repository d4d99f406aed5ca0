import TensorCore

extension VulkanDevice {
    /// Row-wise (log-)softmax (Shaders/softmax.comp): one 256-lane workgroup per row, or
    /// one invocation per row when rows are at most ``narrowRowLimit`` wide.
    public func softmax(_ input: any BackendBuffer, rows: Int, columns: Int, logarithm: Bool,
                        into output: any BackendBuffer) throws(TensorError) {
        let source = try buffer(input, "softmax")
        let target = try buffer(output, "softmax")
        guard rows > 0, columns > 0 else { return }
        var push = PushConstants()
        push.append(rows)
        push.append(columns)
        let narrow = columns <= Self.narrowRowLimit
        let groups = narrow ? (rows + 255) / 256 : rows
        try dispatch(.softmax, constants: SpecConstants([0: logarithm ? 1 : 0, 1: narrow ? 1 : 0]),
                     buffers: [(source, .read), (target, .write)], push: push,
                     groups: (min(groups, maxGroupCount.x), 1, 1))
    }

    /// Rows up to this many columns take one invocation each (no shared-memory barriers).
    static let narrowRowLimit = 128
}
