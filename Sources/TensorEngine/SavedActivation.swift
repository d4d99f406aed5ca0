import TensorCore

/// A float tensor in Mesa's 8-bit storage (``ActivationStorage/int8(groupSize:)``): int8
/// codes and float32 scales by groups along the last axis, kept for backward.
///
/// A class, so that every op keeping the same tensor in 8 bits keeps this one object (the
/// accounting counts its buffers once).
final class QuantizedActivation: Sendable {
    let codes: any BackendBuffer
    let scales: any BackendBuffer
    let layout: GroupQuantization
    let shape: [Int]
    let device: Device

    private init(codes: any BackendBuffer, scales: any BackendBuffer, layout: GroupQuantization, shape: [Int],
                 device: Device) {
        self.codes = codes
        self.scales = scales
        self.layout = layout
        self.shape = shape
        self.device = device
    }

    /// The codes and scales of `x` (float32, any view) in groups of `groupSize` along its last axis.
    static func quantize(_ x: Tensor, groupSize: Int) throws(TensorError) -> QuantizedActivation {
        let source = try x.contiguous()
        let columns = x.rank == 0 ? 1 : x.shape[x.rank - 1]
        let layout = GroupQuantization(rows: columns == 0 ? 0 : x.elementCount / columns, columns: columns,
                                       groupSize: groupSize)
        try layout.validate(op: "int8 storage")
        let backend = x.device.backend
        let codes = try backend.makeBuffer(elementCount: layout.codeWordCount)
        let scales = try backend.makeBuffer(elementCount: layout.scaleCount)
        if layout.count > 0 {
            try backend.run(.groupQuantize(layout, input: source.storage, codes: codes, scales: scales))
        }
        return QuantizedActivation(codes: codes, scales: scales, layout: layout, shape: x.shape, device: x.device)
    }

    /// `code * scale` as a new contiguous float32 tensor of the original shape.
    func dequantized() throws(TensorError) -> Tensor {
        let out = try OpSupport.output(shape, on: device)
        if layout.count > 0 {
            try device.backend.run(.groupDequantize(layout, codes: codes, scales: scales, output: out.storage))
        }
        return out
    }

    /// The codes (whole 32-bit words) and the scales, reported under `label`.
    func retained(label: String) -> [RetainedStorage] {
        [RetainedStorage(buffer: codes, bytes: layout.codeWordCount * 4, label: label),
         RetainedStorage(buffer: scales, bytes: layout.scaleCount * 4, label: label)]
    }
}

/// A tensor an op keeps for backward, stored per ``ActivationStorage``.
enum SavedTensor: Sendable {
    case float32(Tensor)
    case int8(QuantizedActivation)

    /// Keeps `x` (detached) as `storage` says. In 8 bits, a tensor that a recorded op wrote
    /// into storage of its own is quantised once per group size however many ops keep it
    /// (query, key and value projections of one input share their codes). Leaves and views
    /// (whose storage is that of their op's input) are quantised per op: their storage may be
    /// a parameter's, which optimisers update in place, so codes kept with the tensor could
    /// go stale.
    static func save(_ x: Tensor, _ storage: ActivationStorage) throws(TensorError) -> SavedTensor {
        switch storage {
        case .float32:
            return .float32(x.detached())
        case let .int8(groupSize):
            try OpSupport.floats("int8 storage", x)
            guard let state = x.gradState, let node = state.node,
                  !node.inputs.contains(where: { $0.storage == ObjectIdentifier(x.storage) }) else {
                return .int8(try QuantizedActivation.quantize(x, groupSize: groupSize))
            }
            return .int8(try state.quantized(groupSize: groupSize) { () throws(TensorError) in
                try QuantizedActivation.quantize(x, groupSize: groupSize)
            })
        }
    }

    /// The kept values: the tensor itself, or its dequantised 8-bit form.
    func value() throws(TensorError) -> Tensor {
        switch self {
        case let .float32(tensor): return tensor
        case let .int8(quantized): return try quantized.dequantized()
        }
    }

    /// What it keeps, reported under `label` (int8: "`label` (int8)", codes and scales).
    func retained(label: String) -> [RetainedStorage] {
        switch self {
        case let .float32(tensor): return [RetainedStorage(tensor, label: label)]
        case let .int8(quantized): return quantized.retained(label: label + " (int8)")
        }
    }
}
