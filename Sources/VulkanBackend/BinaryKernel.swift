import TensorCore

extension VulkanDevice {
    /// `out[i] = a[aLayout(i)] op b[bLayout(i)]` with broadcasting (Shaders/binary.comp).
    ///
    /// The two layouts and the output's contiguous strides are coalesced jointly; the
    /// operation is a specialisation constant, so each op has its own pipeline.
    ///
    /// float16 / bfloat16 operands (`types`) run the 16-bit storage variant (float32
    /// arithmetic, the result rounded to nearest even); the device needs 16-bit storage.
    public func binary(_ op: BinaryOp, _ a: any BackendBuffer, _ aLayout: StridedLayout,
                       _ b: any BackendBuffer, _ bLayout: StridedLayout,
                       into out: any BackendBuffer, types: OperandTypes = .float32) throws(TensorError) {
        try requireStorage16(types, op: "binary")
        let left = try buffer(a, "binary")
        let right = try buffer(b, "binary")
        let output = try buffer(out, "binary")
        let shape = aLayout.shape
        let count = ShapeMath.elementCount(shape)
        guard count > 0 else { return }
        let merged = StridedLayout.coalesce(
            shape: shape, strideSets: [aLayout.strides, bLayout.strides, ShapeMath.contiguousStrides(shape)])
        guard merged.shape.count <= StridedLayout.maxRank else {
            throw .invalidArgument(op: "binary",
                                   reason: "layout of rank \(merged.shape.count) after merging; at most \(StridedLayout.maxRank)")
        }
        let rank = merged.shape.count
        var push = PushConstants()
        push.append(count)
        push.append(rank)
        push.append(aLayout.offset)
        push.append(bLayout.offset)
        for axis in 0..<StridedLayout.maxRank { push.append(axis < rank ? merged.shape[axis] : 1) }
        for axis in 0..<StridedLayout.maxRank { push.append(axis < rank ? merged.strides[0][axis] : 0) }
        for axis in 0..<StridedLayout.maxRank { push.append(axis < rank ? merged.strides[1][axis] : 0) }
        var constants = SpecConstants([0: UInt32(bitPattern: op.kernelCode)])
        if !types.isFloat32 { constants.set(1, types.kernelCode) }
        try dispatch(types.isFloat32 ? .binary : .binaryStorage16, constants: constants,
                     buffers: [(left, .read), (right, .read), (output, .write)], push: push,
                     groups: elementwiseGroups(count))
    }
}

extension VulkanDevice {
    /// Throws unless `types` are float types this device can store: 16-bit ones need
    /// 16-bit storage buffers.
    func requireStorage16(_ types: OperandTypes, op: String) throws(TensorError) {
        guard types.isValid else {
            throw .invalidArgument(op: op, reason: "operand types \(types) must be float32, float16 or bfloat16")
        }
        guard types.isFloat32 || enabledFeatures.contains(.fp16Storage) else {
            throw .unsupportedOperation(op: op, backend: name, reason: "\(types) needs 16-bit storage buffers, which this device lacks")
        }
    }
}
