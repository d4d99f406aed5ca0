import TensorCore

/// Checks shared by every op: operands on one device, float32 where arithmetic happens.
enum OpSupport {
    static func sameDevice(_ op: String, _ a: Tensor, _ b: Tensor) throws(TensorError) {
        guard a.device == b.device else {
            throw .deviceMismatch(op: op, lhs: a.device.identifier, rhs: b.device.identifier)
        }
    }

    static func floats(_ op: String, _ tensors: Tensor...) throws(TensorError) {
        for tensor in tensors { try tensor.requireFloat(op) }
    }

    /// A new contiguous float tensor of `shape` on `device`.
    static func output(_ shape: [Int], on device: Device) throws(TensorError) -> Tensor {
        let buffer = try device.backend.makeBuffer(elementCount: ShapeMath.elementCount(shape))
        return Tensor(storage: buffer, shape: shape, device: device)
    }

    /// Copies host values into a device buffer.
    static func upload<T>(_ values: [T], to buffer: any BackendBuffer, on device: Device) throws(TensorError) {
        let result: Result<Void, TensorError> = values.withUnsafeBytes { bytes in
            do throws(TensorError) {
                try device.backend.write(bytes, to: buffer)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
    }
}
