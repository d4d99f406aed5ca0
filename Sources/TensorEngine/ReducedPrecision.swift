import TensorCore

/// float16 and bfloat16 operands of the float32-arithmetic ops.
///
/// Without gradients, an op on 16-bit tensors (a product, an elementwise or tensor-scalar op,
/// a unary function, an activation, a sum) runs on them directly: the backend's 16-bit
/// storage kernel where it has one (Vulkan with 16-bit storage buffers), otherwise
/// the op's composite (casts to float32 around the float32 kernel). With gradients, the
/// operands are cast to float32 first, so the graph is the float32 one between casts (each
/// cast's gradient is cast back), and the result is cast to the result type.
enum ReducedPrecision {
    /// The element type of a result computed from operands of types `a` and `b`: their type
    /// when they agree, float32 when they differ (float32 with float16 weights gives float32).
    static func resultType(_ a: DType, _ b: DType) -> DType { a == b ? a : .float32 }

    /// Whether some operand is float16 or bfloat16 and a gradient will be recorded.
    static func recordsGradient(_ tensors: [Tensor?]) -> Bool {
        let present = tensors.compactMap { $0 }
        guard present.contains(where: { $0.dtype != .float32 }) else { return false }
        return !GradMode.disabled && present.contains { $0.requiresGrad }
    }

    /// `tensor` as float32 (itself when it is).
    static func widened(_ tensor: Tensor) throws(TensorError) -> Tensor {
        tensor.dtype == .float32 ? tensor : try tensor.cast(to: .float32)
    }

    /// Throws `unsupportedDType` unless `tensor` holds float32, float16 or bfloat16.
    static func requireFloatingPoint(_ op: String, _ tensors: Tensor...) throws(TensorError) {
        for tensor in tensors where !tensor.dtype.isFloatingPoint {
            throw .unsupportedDType(op: op, dtype: tensor.dtype)
        }
    }

    /// A new contiguous tensor of `shape` and `dtype` on `device`.
    static func output(_ shape: [Int], dtype: DType, on device: Device) throws(TensorError) -> Tensor {
        let buffer = try device.backend.makeBuffer(count: ShapeMath.elementCount(shape), dtype: dtype)
        return Tensor(storage: buffer, shape: shape, dtype: dtype, device: device)
    }
}
