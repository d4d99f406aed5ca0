import TensorCore

extension VulkanDevice {
    /// `output[o, j] = scale * sum_a input[o, a, j]` (Shaders/reduce_sum.comp).
    ///
    /// With `inner == 1` a workgroup of 256 lanes reduces one contiguous row (with
    /// subgroupAdd where the device has subgroup arithmetic); otherwise 32 adjacent
    /// columns x 8 axis lanes, reading coalesced along `inner`.
    public func reduceSum(_ input: any BackendBuffer, outer: Int, axis: Int, inner: Int, scale: Float,
                          into output: any BackendBuffer) throws(TensorError) {
        try reduceSum(input, outer: outer, axis: axis, inner: inner, scale: scale, into: output,
                      useSubgroup: enabledFeatures.contains(.subgroupArithmetic))
    }

    func reduceSum(_ input: any BackendBuffer, outer: Int, axis: Int, inner: Int, scale: Float,
                   into output: any BackendBuffer, useSubgroup: Bool) throws(TensorError) {
        let source = try buffer(input, "reduceSum")
        let target = try buffer(output, "reduceSum")
        guard outer > 0, inner > 0 else { return }
        if axis == 0 {
            try fill(target, value: 0, count: outer * inner)
            return
        }
        let lanes = inner == 1 ? 1 : 32
        var push = PushConstants()
        push.append(outer)
        push.append(axis)
        push.append(inner)
        push.append(scale)
        try dispatch(useSubgroup && inner == 1 ? .reduceSumSubgroup : .reduceSum, constants: SpecConstants([0: UInt32(lanes)]),
                     buffers: [(source, .read), (target, .write)], push: push,
                     groups: (min((inner + lanes - 1) / lanes, maxGroupCount.x), min(outer, maxGroupCount.y), 1))
    }
}
