import TensorCore

/// What an activation keeps for its backward pass.
///
/// - `exact`: the activation's input in float32 (32 bits per element); the backward uses the exact f'.
/// - `fewBit(bits:)`: a b-bit code per element (b = 1...8) and the layer's ``FewBitTable``;
///   the backward multiplies the incoming gradient by the table's level for each code
///   (the Few-Bit Backward method). 3 bits keep 10.7x less than exact.
///
/// ```swift
/// let h = try linear(x, weight: w, bias: b, activation: .gelu, memory: .fewBit(bits: 3))
/// let layer = try Linear(64, 512, activation: .gelu, memory: .fewBit(bits: 2), on: .cpu)
/// ```
public enum ActivationMemory: Sendable, Hashable, CustomStringConvertible {
    case exact
    case fewBit(bits: Int)

    public var description: String {
        switch self {
        case .exact: return "exact"
        case let .fewBit(bits): return "\(bits)-bit"
        }
    }

    /// The table for `activation`, or nil for exact (or for identity, which needs nothing).
    func table(for activation: Activation, op: String) throws(TensorError) -> FewBitTable? {
        guard case let .fewBit(bits) = self, activation != .identity else { return nil }
        guard (1...8).contains(bits) else {
            throw .invalidArgument(op: op, reason: "few-bit memory needs 1...8 bits, got \(bits)")
        }
        return try FewBitTable.optimal(for: activation, bits: bits)
    }
}

/// Packed few-bit codes of one activation, kept for backward.
struct FewBitSaved: Sendable {
    let output: FewBitOutput
    let count: Int

    /// Bytes retained: the packed codes (the table is shared, cached per activation and width).
    var bytes: Int { FewBitCodes.packedWordCount(count: count, bits: output.table.bits) * 4 }

    static func allocate(count: Int, table: FewBitTable, on device: Device) throws(TensorError) -> FewBitSaved {
        let words = FewBitCodes.packedWordCount(count: count, bits: table.bits)
        let codes = try device.backend.makeBuffer(elementCount: words)
        return FewBitSaved(output: FewBitOutput(codes: codes, table: table), count: count)
    }

    var retained: RetainedStorage { RetainedStorage(buffer: output.codes, bytes: bytes) }

    /// gradOutput * levels[code], elementwise.
    func backward(_ gradient: Tensor) throws(TensorError) -> Tensor {
        let g = try gradient.contiguous()
        let out = try OpSupport.output(g.shape, on: g.device)
        if count > 0 {
            try g.device.backend.run(.fewBitBackward(output, gradOutput: g.storage, count: count, gradInput: out.storage))
        }
        return out
    }
}

/// `f(x)` that keeps, for backward, either `x` (`.exact`) or b-bit codes (`.fewBit(bits:)`).
///
/// Without recording (no input requires grad, or inside ``withNoGrad(_:)``) both modes
/// compute the same forward and keep nothing.
///
/// ```swift
/// let y = try activate(x, .gelu, memory: .fewBit(bits: 3))
/// ```
public func activate(_ x: Tensor, _ activation: Activation, memory: ActivationMemory) throws(TensorError) -> Tensor {
    guard let table = try memory.table(for: activation, op: "activate"), x.requiresGrad, !GradMode.disabled else {
        return try activate(x, activation)
    }
    try OpSupport.floats("activate", x)
    let source = try x.contiguous()
    let out = try OpSupport.output(x.shape, on: x.device)
    let saved = try FewBitSaved.allocate(count: out.elementCount, table: table, on: x.device)
    if out.elementCount > 0 {
        try x.device.backend.run(.activateFewBit(activation, input: source.storage, count: out.elementCount,
                                                 output: out.storage, fewBit: saved.output))
    }
    return Autograd.record("activate \(activation) \(memory)", out, inputs: [x], retained: [saved.retained]) { (g) throws(TensorError) in
        [try saved.backward(g)]
    }
}
