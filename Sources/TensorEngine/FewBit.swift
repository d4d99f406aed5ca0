import TensorCore

/// What an activation keeps for its backward pass.
///
/// - `exact`: the activation's input in float32 (32 bits per element); the backward uses the exact f'.
/// - `fewBit(bits:)`: a b-bit code per element (b = 1...8) and the optimal ``FewBitTable`` for
///   the activation (``FewBitTable/optimal(for:bits:weight:)``); the backward multiplies the
///   incoming gradient by the table's level for each code (the Few-Bit Backward method).
///   3 bits keep 10.7x less than exact.
/// - `table(_:activation:name:)`: the same with a given table for one activation, e.g. a
///   published step derivative; ``reGELU2`` is Approx-BP's ReGELU2 for GELU (2 bits).
///   Another activation throws.
///
/// Every mode computes the same forward as exact. The backward is `gradOut * q(x)` with q the
/// table's step function, so it differs from exact by `gradOut * (q(x) - f'(x))`. For GELU
/// on standard normal inputs the gradient's normalised squared error
/// E[(q - f')^2] / E[f'^2] is 0.103 (1 bit), 0.0198 (2 bits), 0.0075 (3 bits), 0.0018 (4 bits)
/// with the optimal tables (made for the uniform weight on [-100, 100]), and 0.128 with
/// ReGELU2 (fitted to GELU rather than to GELU'); FewBitTests asserts these within 2%.
///
/// ```swift
/// let h = try linear(x, weight: w, bias: b, activation: .gelu, memory: .fewBit(bits: 3))
/// let layer = try Linear(64, 512, activation: .gelu, memory: .fewBit(bits: 2), on: .cpu)
/// let approx = try Linear(64, 512, activation: .gelu, memory: .reGELU2, on: .cpu)
/// ```
public enum ActivationMemory: Sendable, Hashable, CustomStringConvertible {
    case exact
    case fewBit(bits: Int)
    /// Codes of `table` for an `activation` (only that one), reported as `name`.
    case table(FewBitTable, activation: Activation, name: String)

    /// Approx-BP's ReGELU2 backward for GELU (``FewBitTable/reGELU2``): 2 bits per element.
    ///
    /// ```swift
    /// let y = try activate(x, .gelu, memory: .reGELU2)
    /// ```
    public static let reGELU2 = ActivationMemory.table(.reGELU2, activation: .gelu, name: "ReGELU2")

    public var description: String {
        switch self {
        case .exact: return "exact"
        case let .fewBit(bits): return "\(bits)-bit"
        case let .table(_, _, name): return name
        }
    }

    /// The table for `activation`, or nil for exact (or for identity, which needs nothing).
    func table(for activation: Activation, op: String) throws(TensorError) -> FewBitTable? {
        guard activation != .identity else { return nil }
        switch self {
        case .exact:
            return nil
        case let .fewBit(bits):
            guard (1...8).contains(bits) else {
                throw .invalidArgument(op: op, reason: "few-bit memory needs 1...8 bits, got \(bits)")
            }
            return try FewBitTable.optimal(for: activation, bits: bits)
        case let .table(table, expected, name):
            guard activation == expected else {
                throw .invalidArgument(op: op, reason: "\(name) is a table for \(expected), the activation is \(activation)")
            }
            return table
        }
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
