import TensorCore

extension VulkanDevice {
    /// Mesa's 8-bit group quantisation (Shaders/group_quantize.comp; the rules of
    /// ``GroupQuantization``): one dispatch for the scales (an invocation per group), one
    /// for the codes (an invocation per 32-bit word of four codes).
    ///
    /// ```swift
    /// let layout = GroupQuantization(rows: 512, columns: 384, groupSize: 64)
    /// try gpu.groupQuantize(x, layout: layout, codes: codes, scales: scales)
    /// ```
    public func groupQuantize(_ input: any BackendBuffer, layout: GroupQuantization, codes: any BackendBuffer,
                              scales: any BackendBuffer) throws(TensorError) {
        let op = "groupQuantize"
        let x = try quantizeBuffer(input, holds: layout.count, layout, op, "input")
        let c = try quantizeBuffer(codes, holds: layout.codeWordCount, layout, op, "codes")
        let s = try quantizeBuffer(scales, holds: layout.scaleCount, layout, op, "scales")
        guard layout.count > 0 else {
            // No elements: the codes have no words and there are no groups.
            return
        }
        let push = quantizePush(layout)
        // Placeholders: a read-only slot takes the input; a write-only slot the buffer this
        // dispatch writes anyway (the validation layer counts every writable binding as written).
        try dispatch(.groupQuantize, constants: SpecConstants([0: 0]),
                     buffers: [(x, .read), (s, .unused), (s, .write), (x, .unused), (x, .unused), (s, .unused)],
                     push: push, groups: elementwiseGroups(layout.scaleCount))
        try dispatch(.groupQuantize, constants: SpecConstants([0: 1]),
                     buffers: [(x, .read), (c, .write), (c, .unused), (x, .unused), (s, .read), (c, .unused)],
                     push: push, groups: elementwiseGroups(layout.codeWordCount))
    }

    /// The inverse of ``groupQuantize(_:layout:codes:scales:)`` (Shaders/group_quantize.comp):
    /// `output = code * scale`, an invocation per element.
    ///
    /// ```swift
    /// try gpu.groupDequantize(codes: codes, scales: scales, layout: layout, into: x)
    /// ```
    public func groupDequantize(codes: any BackendBuffer, scales: any BackendBuffer, layout: GroupQuantization,
                                into output: any BackendBuffer) throws(TensorError) {
        let op = "groupDequantize"
        let c = try quantizeBuffer(codes, holds: layout.codeWordCount, layout, op, "codes")
        let s = try quantizeBuffer(scales, holds: layout.scaleCount, layout, op, "scales")
        let y = try quantizeBuffer(output, holds: layout.count, layout, op, "output")
        guard layout.count > 0 else { return }
        try dispatch(.groupQuantize, constants: SpecConstants([0: 2]),
                     buffers: [(c, .unused), (y, .unused), (y, .unused), (c, .read), (s, .read), (y, .write)],
                     push: quantizePush(layout), groups: elementwiseGroups(layout.count))
    }

    private func quantizePush(_ layout: GroupQuantization) -> PushConstants {
        var push = PushConstants()
        push.append(layout.rows)
        push.append(layout.columns)
        push.append(layout.groupSize)
        push.append(layout.groupsPerRow)
        push.append(GroupQuantization.scaleFactor)
        return push
    }

    /// The buffer, checked to hold `count` words, after the layout's own checks (and the
    /// shader's 32-bit indexing: word indices up to count + 3).
    private func quantizeBuffer(_ buffer: any BackendBuffer, holds count: Int, _ layout: GroupQuantization, _ op: String,
                                _ role: String) throws(TensorError) -> VulkanBuffer {
        try layout.validate(op: op)
        guard layout.count <= Int(UInt32.max) - 4 else {
            throw .invalidArgument(op: op, reason: "[\(layout.rows), \(layout.columns)] is beyond 32-bit indexing")
        }
        let vulkan = try self.buffer(buffer, op)
        guard count <= vulkan.elementCount else {
            throw .invalidArgument(op: op, reason: "\(role) holds \(vulkan.elementCount) words, \(count) needed")
        }
        return vulkan
    }
}
