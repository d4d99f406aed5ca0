import TensorCore

/// The gradient of an op that has no hand-written backward: its composite, replayed as
/// differentiable frontend ops.
///
/// The forward runs as every op does (`backend.run`: the backend's kernel where it has one,
/// else the composite). When a gradient is recorded, the op's composite is lowered once to a
/// ``CompositeProgram`` (buffers become slots, matched by object identity to the bound input
/// tensors and the output), and backward replays that program on the saved inputs with
/// gradients on (``elementwise(_:_:_:)``, ``activate(_:_:)``, ``matmul(_:_:)``, ...), then
/// back-propagates through the replay. The composite is thus the op's reference in
/// conformance, its fallback on a backend without a kernel, and its gradient.
///
/// Backward keeps the op's inputs (reported under the op's name in `retainedBytesByOp()`),
/// never its output or the composite's temporaries, and recomputes the forward once.
enum CompositeGradient {
    /// Runs the op `build` makes from `inputs` (bound to its input buffers) and a new
    /// contiguous output of `shape` and `dtype`, recording its gradient through its
    /// composite. While recording, each input is bound contiguous and to its own buffer
    /// (a view or a repeated operand is copied first, differentiably), so every buffer the
    /// composite reads names exactly one tensor.
    ///
    /// Throws `unsupportedOperation` naming a primitive of the composite that has no
    /// differentiable replay (only when a gradient is recorded).
    static func run(_ name: String, inputs: [Tensor], shape: [Int], dtype: DType = .float32,
                    build: ([Tensor], Tensor) -> BackendOp) throws(TensorError) -> Tensor {
        guard let device = inputs.first?.device else {
            throw .invalidArgument(op: name, reason: "an op differentiated through its composite needs an input")
        }
        let recording = !GradMode.disabled && inputs.contains { $0.requiresGrad }
        let bound = recording ? try distinctContiguous(inputs) : inputs
        let buffer = try device.backend.makeBuffer(count: ShapeMath.elementCount(shape), dtype: dtype)
        let output = Tensor(storage: buffer, shape: shape, dtype: dtype, device: device)
        let op = build(bound, output)
        if output.elementCount > 0 { try device.backend.run(op) }
        guard recording else { return output }
        let program = try CompositeProgram(op, name: name, inputs: bound.map(\.storage), output: output.storage)
        let saved = bound.map { $0.detached() }
        let needs = bound.map(\.requiresGrad)
        return Autograd.record(name, output, inputs: bound, retained: saved.map { RetainedStorage($0) }) { (g) throws(TensorError) in
            try program.gradients(inputs: saved, needs: needs, outputShape: shape, gradOutput: g)
        }
    }

    /// Each tensor contiguous and on a buffer no other of them uses (a differentiable copy where not).
    private static func distinctContiguous(_ tensors: [Tensor]) throws(TensorError) -> [Tensor] {
        var seen: Set<ObjectIdentifier> = []
        var result: [Tensor] = []
        for tensor in tensors {
            var bound = try tensor.contiguous()
            if !seen.insert(ObjectIdentifier(bound.storage)).inserted {
                bound = try copy(bound)
                seen.insert(ObjectIdentifier(bound.storage))
            }
            result.append(bound)
        }
        return result
    }

    /// A bit-for-bit copy on a new buffer, whose gradient is the copy's.
    private static func copy(_ tensor: Tensor) throws(TensorError) -> Tensor {
        let buffer = try tensor.device.backend.makeBuffer(count: tensor.elementCount, dtype: tensor.dtype)
        if tensor.elementCount > 0 {
            try tensor.device.backend.run(.cast(source: tensor.storage, sourceType: tensor.dtype, layout: tensor.layout,
                                                destination: buffer, destinationType: tensor.dtype))
        }
        let result = Tensor(storage: buffer, shape: tensor.shape, dtype: tensor.dtype, device: tensor.device)
        return Autograd.record("copy", result, inputs: [tensor]) { gradient in [gradient] }
    }
}

/// Runs `body` with operations recorded for backward, inside a backward pass (which runs
/// with recording off): the replay of a composite builds its own small graph.
func withGradRecording<T>(_ body: () throws(TensorError) -> T) throws(TensorError) -> T {
    let result: Result<T, TensorError> = GradMode.$disabled.withValue(false) {
        Result { () throws(TensorError) in try body() }
    }
    return try result.get()
}

/// A scratch buffer of the lowering: it names a composite's temporary and holds no memory
/// (the program never runs on a backend).
private final class PlaceholderBuffer: BackendBuffer {
    let byteCount: Int
    init(byteCount: Int) { self.byteCount = byteCount }
}

extension CompositeProgram {
    /// Lowers `op`'s composite: each part that has a differentiable frontend function becomes
    /// a step; any other part is lowered through its own composite; a part with neither throws.
    init(_ op: BackendOp, name: String, inputs: [any BackendBuffer], output: any BackendBuffer) throws(TensorError) {
        var lowering = Lowering(name: name)
        for input in inputs { _ = lowering.define(input) }
        let parts = try Lowering.parts(of: op, name: name)
        for part in parts { try lowering.lower(part) }
        guard let outputSlot = lowering.slots[ObjectIdentifier(output)], lowering.defined.contains(outputSlot) else {
            throw .invalidArgument(op: name, reason: "the composite of \(op.operation) never writes the output")
        }
        self.init(steps: lowering.steps, inputSlots: Array(0..<inputs.count), outputSlot: outputSlot,
                  slotCount: lowering.slots.count)
    }
}

/// The state of one lowering: buffers by identity to slots, and the steps so far.
private struct Lowering {
    let name: String
    var slots: [ObjectIdentifier: Int] = [:]
    var defined: Set<Int> = []
    var steps: [CompositeProgram.Step] = []
    /// Every buffer seen, kept alive while lowering so no identity is reused.
    var buffers: [any BackendBuffer] = []

    init(name: String) { self.name = name }

    static func parts(of op: BackendOp, name: String) throws(TensorError) -> [BackendOp] {
        guard let parts = try op.composite(temporary: { count in PlaceholderBuffer(byteCount: count * 4) }) else {
            throw .unsupportedOperation(op: "\(op.operation)", backend: "composite gradient of \(name)",
                                        reason: "the op has no composite to differentiate: it needs a hand-written backward")
        }
        return parts
    }

    mutating func slot(_ buffer: any BackendBuffer) -> Int {
        let key = ObjectIdentifier(buffer)
        if let existing = slots[key] { return existing }
        buffers.append(buffer)
        slots[key] = slots.count
        return slots.count - 1
    }

    /// The slot of a buffer written by a step (or bound as an input).
    mutating func define(_ buffer: any BackendBuffer) -> Int {
        let index = slot(buffer)
        defined.insert(index)
        return index
    }

    /// The slot of a buffer a step reads: it must be an input or written before.
    mutating func read(_ buffer: any BackendBuffer, by op: BackendOp) throws(TensorError) -> Int {
        let index = slot(buffer)
        guard defined.contains(index) else {
            throw .invalidArgument(op: name, reason: "the composite's \(op.operation) reads a buffer that is neither "
                                   + "an input bound to a tensor nor written by an earlier part")
        }
        return index
    }

    mutating func lower(_ op: BackendOp) throws(TensorError) {
        let step: CompositeProgram.Step
        switch op {
        case let .fill(buffer, value, count):
            step = .fill(slot: define(buffer), value: value, count: count)
        case let .copyStrided(source, layout, destination):
            let s = try read(source, by: op)
            step = .cast(source: s, layout: layout, destination: define(destination), type: nil)
        case let .binary(binaryOp, a, aLayout, b, bLayout, output, types) where types.isFloat32:
            let (sa, sb) = (try read(a, by: op), try read(b, by: op))
            step = .binary(binaryOp, a: sa, aLayout: aLayout, b: sb, bLayout: bLayout, output: define(output))
        case let .unary(unaryOp, input, layout, output, types) where types.isFloat32:
            let s = try read(input, by: op)
            step = .unary(unaryOp, input: s, layout: layout, output: define(output))
        case let .scaleShift(input, layout, scale, offset, output, types) where types.isFloat32:
            let s = try read(input, by: op)
            step = .scaleShift(input: s, layout: layout, scale: scale, offset: offset, output: define(output))
        case let .activate(activation, input, layout, output, types) where types.isFloat32:
            let s = try read(input, by: op)
            step = .activate(activation, input: s, layout: layout, output: define(output))
        case let .matmul(a, b, c, geometry, epilogue) where epilogue.isNone && geometry.types.isFloat32:
            let (sa, sb) = (try read(a, by: op), try read(b, by: op))
            step = .matmul(a: sa, b: sb, c: define(c), geometry: geometry)
        case let .reduceSum(input, layout, scale, output, types) where types.isFloat32:
            let s = try read(input, by: op)
            step = .reduceSum(input: s, layout: layout, scale: scale, output: define(output))
        case let .softmax(input, layout, logarithm, output, types) where types.isFloat32:
            let s = try read(input, by: op)
            step = .softmax(input: s, layout: layout, logarithm: logarithm, output: define(output))
        case let .cast(source, _, layout, destination, destinationType):
            let s = try read(source, by: op)
            step = .cast(source: s, layout: layout, destination: define(destination), type: destinationType)
        case let .select(condition, conditionLayout, a, aLayout, b, bLayout, output):
            let (sc, sa, sb) = (try read(condition, by: op), try read(a, by: op), try read(b, by: op))
            step = .select(condition: sc, conditionLayout: conditionLayout, a: sa, aLayout: aLayout, b: sb,
                           bLayout: bLayout, output: define(output))
        default:
            // A fused part (a 16-bit or epilogue matmul, a 16-bit binary op, ...) through its own composite.
            guard let parts = try op.composite(temporary: { count in PlaceholderBuffer(byteCount: count * 4) }) else {
                throw .unsupportedOperation(op: "\(op.operation)", backend: "composite gradient of \(name)",
                                            reason: "this primitive has no differentiable replay")
            }
            for part in parts { try lower(part) }
            return
        }
        steps.append(step)
    }
}
