import TensorCore

extension VulkanDevice {
    /// Fused attention forward (Shaders/attention_forward.comp; the rules of
    /// ``BackendOp/attentionForward``): one 64-lane workgroup per block of queries of one
    /// (batch, head), keys and values staged 16 at a time in shared memory.
    ///
    /// float16 / bfloat16 `types` (query `a`, key and value `b`, output `c`) run the 16-bit
    /// storage variant (float32 arithmetic, the output rounded once to nearest even; the mask
    /// and logSumExp float32; the device needs 16-bit storage buffers).
    ///
    /// ```swift
    /// try gpu.attentionForward(geometry, query: q, key: k, value: v, mask: nil, output: o, logSumExp: lse)
    /// ```
    public func attentionForward(_ g: AttentionGeometry, query: any BackendBuffer, key: any BackendBuffer,
                                 value: any BackendBuffer, mask: AttentionMask?, output: any BackendBuffer,
                                 logSumExp: any BackendBuffer, types: OperandTypes = .float32) throws(TensorError) {
        let op = "attentionForward"
        try requireStorage16(types, op: op)
        let (inputs, push) = try attentionInputs(g, query: query, key: key, value: value, mask: mask, op: op,
                                                 types: types)
        let out = try buffer(output, op), lse = try buffer(logSumExp, op)
        try requireHolds(out, g.batchHeads * g.queryLength * g.valueDimension, op: op, role: "output", dtype: types.c)
        try requireHolds(lse, g.batchHeads * g.queryLength, op: op, role: "logSumExp")
        guard g.batchHeads > 0, g.queryLength > 0 else { return }
        let constants = types.isFloat32 ? SpecConstants() : SpecConstants([0: types.kernelCode])
        try dispatch(types.isFloat32 ? .attentionForward : .attentionForwardStorage16, constants: constants,
                     buffers: inputs + [(out, .write), (lse, .write)], push: push,
                     groups: attentionGroups(g.queryLength, g.batchHeads))
    }

    /// Fused attention backward (Shaders/attention_backward_q.comp for the query gradient,
    /// Shaders/attention_backward_kv.comp for the key and value gradients; the rules of
    /// ``BackendOp/attentionBackward``): each lane owns one output row, so no atomics.
    ///
    /// ```swift
    /// try gpu.attentionBackward(geometry, query: q, key: k, value: v, mask: nil, output: o, logSumExp: lse,
    ///                           gradOutput: dO, gradQuery: dQ, gradKey: dK, gradValue: dV)
    /// ```
    public func attentionBackward(_ g: AttentionGeometry, query: any BackendBuffer, key: any BackendBuffer,
                                  value: any BackendBuffer, mask: AttentionMask?, output: any BackendBuffer,
                                  logSumExp: any BackendBuffer, gradOutput: any BackendBuffer,
                                  gradQuery: any BackendBuffer, gradKey: any BackendBuffer,
                                  gradValue: any BackendBuffer) throws(TensorError) {
        let op = "attentionBackward"
        let (inputs, push) = try attentionInputs(g, query: query, key: key, value: value, mask: mask, op: op)
        let o = try buffer(output, op), lse = try buffer(logSumExp, op), dO = try buffer(gradOutput, op)
        let dQ = try buffer(gradQuery, op), dK = try buffer(gradKey, op), dV = try buffer(gradValue, op)
        let bh = g.batchHeads
        try requireHolds(o, bh * g.queryLength * g.valueDimension, op: op, role: "output")
        try requireHolds(dO, bh * g.queryLength * g.valueDimension, op: op, role: "gradOutput")
        try requireHolds(lse, bh * g.queryLength, op: op, role: "logSumExp")
        try requireHolds(dQ, bh * g.queryLength * g.headDimension, op: op, role: "gradQuery")
        try requireHolds(dK, bh * g.keyLength * g.headDimension, op: op, role: "gradKey")
        try requireHolds(dV, bh * g.keyLength * g.valueDimension, op: op, role: "gradValue")
        guard bh > 0 else { return }
        let saved: [(VulkanBuffer, Access)] = [(o, .read), (lse, .read), (dO, .read)]
        if g.queryLength > 0 {
            try dispatch(.attentionBackwardQueries, buffers: inputs + saved + [(dQ, .write)], push: push,
                         groups: attentionGroups(g.queryLength, bh))
        }
        if g.keyLength > 0 {
            try dispatch(.attentionBackwardKeys, buffers: inputs + saved + [(dK, .write), (dV, .write)], push: push,
                         groups: attentionGroups(g.keyLength, bh))
        }
    }

    /// One workgroup per 64 rows along x, per (batch, head) along y (the shaders loop past the grid).
    private func attentionGroups(_ rows: Int, _ batchHeads: Int) -> (x: Int, y: Int, z: Int) {
        (min((rows + 63) / 64, maxGroupCount.x), min(batchHeads, maxGroupCount.y), 1)
    }

    private func requireHolds(_ buffer: VulkanBuffer, _ count: Int, op: String, role: String,
                              dtype: DType = .float32) throws(TensorError) {
        let capacity = buffer.byteCount / dtype.byteSize
        guard count <= capacity else {
            throw .invalidArgument(op: op, reason: "\(role) holds \(capacity) elements, \(count) needed")
        }
    }

    /// The q, k, v and mask bindings (the query stands in for an absent mask) and the push
    /// constants of Shaders/common/attention.glsl.
    private func attentionInputs(_ g: AttentionGeometry, query: any BackendBuffer, key: any BackendBuffer,
                                 value: any BackendBuffer, mask: AttentionMask?, op: String,
                                 types: OperandTypes = .float32) throws(TensorError) -> ([(VulkanBuffer, Access)], PushConstants) {
        guard g.batch >= 0, g.heads >= 0, g.queryLength >= 0, g.keyLength >= 0, g.headDimension >= 0,
              g.valueDimension >= 0 else {
            throw .invalidArgument(op: op, reason: "negative extent in \(g)")
        }
        let limit = AttentionGeometry.maxHeadDimension
        guard g.headDimension <= limit, g.valueDimension <= limit else {
            throw .invalidArgument(op: op, reason: "head dimension \(g.headDimension) / value dimension "
                                   + "\(g.valueDimension): the Vulkan kernels hold at most \(limit)")
        }
        let total = g.batchHeads * max(g.queryLength, g.keyLength) * max(g.headDimension, g.valueDimension)
        guard total < Int(UInt32.max) else {
            throw .invalidArgument(op: op, reason: "\(g) exceeds 32-bit indexing")
        }
        let q = try buffer(query, op), k = try buffer(key, op), v = try buffer(value, op)
        try requireHolds(q, g.batchHeads * g.queryLength * g.headDimension, op: op, role: "query", dtype: types.a)
        try requireHolds(k, g.batchHeads * g.keyLength * g.headDimension, op: op, role: "key", dtype: types.b)
        try requireHolds(v, g.batchHeads * g.keyLength * g.valueDimension, op: op, role: "value", dtype: types.b)
        var maskBuffer = q
        var strides = [0, 0, 0, 0], offset = 0
        if let mask {
            let expected = [g.batch, g.heads, g.queryLength, g.keyLength]
            guard mask.layout.shape == expected else {
                throw .shapeMismatch(op: op, lhs: mask.layout.shape, rhs: expected, reason: "mask layout must be [B, H, Lq, Lk]")
            }
            maskBuffer = try buffer(mask.buffer, op)
            try requireInside(mask.layout, of: maskBuffer, op: op)
            guard mask.layout.strides.allSatisfy({ $0 >= 0 }) else {
                throw .invalidArgument(op: op, reason: "mask strides \(mask.layout.strides) must not be negative")
            }
            strides = mask.layout.strides
            offset = mask.layout.offset
        }
        var push = PushConstants()
        push.append(g.batchHeads)
        push.append(g.heads)
        push.append(g.queryLength)
        push.append(g.keyLength)
        push.append(g.headDimension)
        push.append(g.valueDimension)
        push.append(g.scale)
        push.append(g.causal ? 1 : 0)
        push.append(mask == nil ? 0 : 1)
        push.append(offset)
        for stride in strides { push.append(stride) }
        return ([(q, .read), (k, .read), (v, .read), (maskBuffer, .read)], push)
    }
}
