import TensorCore

extension Tensor {
    /// A copy in another element type (self when it already has it), on the same device.
    ///
    /// Float to float rounds to nearest even (too large: infinity; NaN stays NaN); float to
    /// int32 or uint8 truncates toward zero and saturates to the type's range, NaN giving 0;
    /// integers to floats round to nearest even. Views are read in place, without a copy
    /// first. Gradients flow through casts between floating-point types (the gradient is
    /// cast back); arithmetic itself is float32 (`matmul`, `linear`, elementwise and
    /// tensor-scalar ops, unary functions, activations, sums and means also read and write
    /// float16 / bfloat16 tensors directly).
    ///
    /// ```swift
    /// let w16 = try w.cast(to: .bfloat16)              // half the memory
    /// let y = try matmul(x, w16.cast(to: .float32))
    /// let labels = try Tensor([0, 2, 1], shape: [3], on: .cpu).cast(to: .int32)
    /// ```
    public func cast(to target: DType) throws(TensorError) -> Tensor {
        if target == dtype { return self }
        let buffer = try device.backend.makeBuffer(count: elementCount, dtype: target)
        if elementCount > 0 {
            try device.backend.run(.cast(source: storage, sourceType: dtype, layout: layout,
                                         destination: buffer, destinationType: target))
        }
        let result = Tensor(storage: buffer, shape: shape, dtype: target, device: device)
        guard dtype.isFloatingPoint, target.isFloatingPoint else { return result }
        let source = dtype
        return Autograd.record("cast \(source) to \(target)", result, inputs: [self]) { (gradient) throws(TensorError) in
            [try gradient.cast(to: source)]
        }
    }

    /// A tensor of `dtype` from its elements' bytes in row-major order (little-endian).
    ///
    /// ```swift
    /// let half = try Tensor(rawBytes: [0x00, 0x3C, 0x00, 0xC0], shape: [2], dtype: .float16, on: .cpu)  // [1, -2]
    /// ```
    public convenience init(rawBytes: [UInt8], shape: [Int], dtype: DType, on device: Device = .default) throws(TensorError) {
        try ShapeMath.validate(shape, op: "Tensor")
        let count = ShapeMath.elementCount(shape)
        guard rawBytes.count == (try dtype.byteCount(count)) else {
            throw .invalidShape(op: "Tensor", shape: shape,
                                reason: "\(rawBytes.count) bytes given for \(count) \(dtype) elements of \(dtype.byteSize) bytes")
        }
        let buffer = try device.backend.makeBuffer(count: count, dtype: dtype)
        try OpSupport.upload(rawBytes, to: buffer, on: device)
        self.init(storage: buffer, shape: shape, dtype: dtype, device: device)
    }
}
