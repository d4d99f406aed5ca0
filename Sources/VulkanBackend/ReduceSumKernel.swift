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
        try reduceSum(input, layout: .contiguous([outer, axis, inner]), scale: scale, into: output,
                      useSubgroup: useSubgroup)
    }

    /// `output[o, j] = scale * sum_a input[layout(o, a, j)]` for a rank-3 view [outer, axis,
    /// inner] with any strides, read in place.
    ///
    /// ```swift
    /// try gpu.reduceSum(m, layout: StridedLayout(shape: [1, 4, 8], strides: [0, 1, 4]), scale: 1, into: sums)
    /// ```
    ///
    /// A float16 / bfloat16 input or output (`types.a`, `types.c`) runs the 16-bit storage
    /// variant (float32 accumulation, the result rounded to nearest even once on store;
    /// 16-bit storage needed).
    public func reduceSum(_ input: any BackendBuffer, layout: StridedLayout, scale: Float,
                          into output: any BackendBuffer, types: OperandTypes = .float32) throws(TensorError) {
        try reduceSum(input, layout: layout, scale: scale, into: output,
                      useSubgroup: enabledFeatures.contains(.subgroupArithmetic), types: types)
    }

    func reduceSum(_ input: any BackendBuffer, layout: StridedLayout, scale: Float,
                   into output: any BackendBuffer, useSubgroup: Bool, types: OperandTypes = .float32) throws(TensorError) {
        let types = OperandTypes(a: types.a, c: types.c)   // no second operand
        try requireStorage16(types, op: "reduceSum")
        let source = try buffer(input, "reduceSum")
        let target = try buffer(output, "reduceSum")
        guard layout.shape.count == 3, layout.strides.allSatisfy({ $0 >= 0 }) else {
            throw .invalidArgument(op: "reduceSum", reason: "layout \(layout.shape) strides \(layout.strides) "
                                   + "is not [outer, axis, inner] with non-negative strides")
        }
        try requireInside(layout, of: source, op: "reduceSum", dtype: types.a)
        let (outer, axis, inner) = (layout.shape[0], layout.shape[1], layout.shape[2])
        guard outer > 0, inner > 0 else { return }
        let capacity = target.byteCount / types.c.byteSize
        guard outer * inner <= capacity else {
            throw .invalidArgument(op: "reduceSum", reason: "output holds \(capacity) elements, \(outer * inner) needed")
        }
        // An empty axis: a float32 output is filled with 0; a 16-bit one runs the kernel,
        // whose empty sum stores 0 * scale.
        if axis == 0 && types.c == .float32 {
            try fill(target, value: 0, count: outer * inner)
            return
        }
        let lanes = inner == 1 ? 1 : 32
        var push = PushConstants()
        push.append(outer)
        push.append(axis)
        push.append(inner)
        push.append(scale)
        push.append(layout.offset)
        for stride in layout.strides { push.append(stride) }
        var constants = SpecConstants([0: UInt32(lanes)])
        let shader: Shader
        if !types.isFloat32 {
            constants.set(1, types.kernelCode)
            shader = .reduceSumStorage16
        } else {
            shader = useSubgroup && inner == 1 ? .reduceSumSubgroup : .reduceSum
        }
        try dispatch(shader, constants: constants,
                     buffers: [(source, .read), (target, .write)], push: push,
                     groups: (min((inner + lanes - 1) / lanes, maxGroupCount.x), min(outer, maxGroupCount.y), 1))
    }
}
