import TensorCore

/// The matrix product with NumPy `matmul` semantics.
///
/// Rank-2 operands multiply as matrices; higher ranks are stacks of matrices whose
/// leading (batch) axes broadcast; a rank-1 operand is a vector (its axis is removed
/// from the result). Transposed views (``Tensor/transposed()``) are passed to the
/// kernel as transposed operands: no copy is made.
///
/// ```swift
/// let a = try Tensor.randn([64, 128], seed: 1, on: .cpu)
/// let b = try Tensor.randn([256, 128], seed: 2, on: .cpu)
/// let c = try matmul(a, b.transposed())   // [64, 256], B read transposed in place
/// ```
///
/// float16 and bfloat16 operands are multiplied as stored, in float32 arithmetic: the result
/// has their type when both agree, float32 otherwise, rounded once (to nearest even).
///
/// ```swift
/// let w16 = try Tensor.randn([128, 256], seed: 3, on: .cpu).cast(to: .float16)
/// let y = try matmul(a, w16)              // float32 x float16 -> float32
/// let h = try matmul(a.cast(to: .float16), w16)   // float16
/// ```
public func matmul(_ a: Tensor, _ b: Tensor) throws(TensorError) -> Tensor {
    if ReducedPrecision.recordsGradient([a, b]) {
        let product = try matmul(ReducedPrecision.widened(a), ReducedPrecision.widened(b))
        return try product.cast(to: ReducedPrecision.resultType(a.dtype, b.dtype))
    }
    let out = try MatmulPlan(a, b, op: "matmul").run(epilogue: .none)
    let (left, right) = (a.detached(), b.detached())
    let (needA, needB) = (a.requiresGrad, b.requiresGrad)
    return Autograd.record("matmul", out, inputs: [a, b], retained: [RetainedStorage(left), RetainedStorage(right)]) { (g) throws(TensorError) in
        let (ga, gb) = try matmulGradients(left, right, g, needA: needA, needB: needB)
        return [ga, gb]
    }
}

/// dA = dC B^T and dB = A^T dC, with vector operands and broadcast batch axes undone.
/// Transposes are views, so no operand is copied.
func matmulGradients(_ a: Tensor, _ b: Tensor, _ g: Tensor, needA: Bool, needB: Bool) throws(TensorError) -> (Tensor?, Tensor?) {
    let a2 = a.rank == 1 ? try a.reshaped([1, a.shape[0]]) : a
    let b2 = b.rank == 1 ? try b.reshaped([b.shape[0], 1]) : b
    let batch = try ShapeMath.broadcast(Array(a2.shape.dropLast(2)), Array(b2.shape.dropLast(2)), op: "matmul backward")
    let g2 = try g.reshaped(batch + [a2.shape[a2.rank - 2], b2.shape[b2.rank - 1]])
    let ga = needA ? try Autograd.reduce(try matmul(g2, try b2.transposed()), to: a2.shape).reshaped(a.shape) : nil
    let gb = needB ? try Autograd.reduce(try matmul(try a2.transposed(), g2), to: b2.shape).reshaped(b.shape) : nil
    return (ga, gb)
}

extension Tensor {
    /// `matmul(self, other)`.
    public func matmul(_ other: Tensor) throws(TensorError) -> Tensor {
        try TensorEngine.matmul(self, other)
    }
}

/// A fully connected layer in one fused kernel: `activation(x * weight + bias)`.
///
/// `x` is [..., in], `weight` [in, out], `bias` [out] or nil; the result is [..., out].
/// On every backend the bias and activation run in the matmul's epilogue (the CPU
/// backend: sgemm, then one fused pass over the output).
///
/// For backward it keeps its input as `inputStorage` says (``ActivationStorage``: float32, or
/// Mesa's 8-bit codes, from which the weight's gradient is computed; the input's gradient
/// never needs it) and the activation's state as `memory` says (``ActivationMemory``).
/// `retainedBytesByOp()` reports them as "linear input" (or "linear input (int8)"), "linear
/// weight" and the activation's line.
///
/// ```swift
/// let h = try linear(x, weight: w, bias: b, activation: .gelu)
/// let small = try linear(x, weight: w, bias: b, activation: .gelu, memory: .fewBit(bits: 3), inputStorage: .mesa)
/// ```
///
/// float16 and bfloat16 inputs and weights are read as stored (the bias may be either too);
/// the result has their type when `x` and `weight` agree, float32 otherwise.
///
/// ```swift
/// let y = try linear(x, weight: w.cast(to: .bfloat16), bias: b, activation: .gelu)   // float32
/// ```
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil,
                   activation: Activation = .identity, memory: ActivationMemory = .exact,
                   inputStorage: ActivationStorage = .float32) throws(TensorError) -> Tensor {
    if ReducedPrecision.recordsGradient([x, weight, bias]) {
        let wide = try linear(ReducedPrecision.widened(x), weight: ReducedPrecision.widened(weight),
                              bias: bias.map { (b) throws(TensorError) in try ReducedPrecision.widened(b) },
                              activation: activation, memory: memory, inputStorage: inputStorage)
        return try wide.cast(to: ReducedPrecision.resultType(x.dtype, weight.dtype))
    }
    try inputStorage.validate(op: "linear")
    let recording = !GradMode.disabled && (x.requiresGrad || weight.requiresGrad || (bias?.requiresGrad ?? false))
    let table = recording ? try memory.table(for: activation, op: "linear") : nil
    let keepExact = recording && activation != .identity && table == nil
    let rows = x.rank == 1 ? 1 : x.shape.dropLast().reduce(1, *)
    let fewBit = try table.map { (t) throws(TensorError) in
        try FewBitSaved.allocate(count: rows * weight.shape[max(weight.rank - 1, 0)], table: t, on: x.device)
    }
    let (out, preActivation) = try linearForward(x, weight: weight, bias: bias, activation: activation,
                                                 keepPreActivation: keepExact, fewBit: fewBit?.output)
    guard recording else { return out }
    // The input serves only the weight's gradient: without one, nothing of it is kept.
    let input = weight.requiresGrad ? try SavedTensor.save(x, inputStorage) : nil
    let w = weight.detached()
    let saved = preActivation?.detached()
    // The activation's own state is reported apart from the linear's inputs.
    let activationName = "\(activation) activation (\(memory))"
    var retained = (input?.retained(label: "linear input") ?? []) + [RetainedStorage(w, label: "linear weight")]
    if let saved { retained.append(RetainedStorage(saved, label: activationName)) }
    if let fewBit { retained.append(RetainedStorage(buffer: fewBit.output.codes, bytes: fewBit.bytes, label: activationName)) }
    let inputs = [x, weight] + (bias.map { [$0] } ?? [])
    // Plain values only: capturing `x` would keep the float32 input alive whatever `inputStorage` says.
    let (inputShape, needInput, needWeight) = (x.shape, x.requiresGrad, weight.requiresGrad)
    let needBias = bias?.requiresGrad ?? false
    return Autograd.record("linear \(activation)", out, inputs: inputs, retained: retained) { (g) throws(TensorError) in
        let gz: Tensor
        if let fewBit {
            gz = try fewBit.backward(g)
        } else if let saved {
            gz = try activationBackward(activation, input: saved, gradOutput: g)
        } else {
            gz = g
        }
        return try linearGradients(input: input?.value(), inputShape: inputShape, weight: w, gradPreActivation: gz,
                                   needInput: needInput, needWeight: needWeight, needBias: needBias)
    }
}

/// The gradients of `x * weight + bias` from the gradient at the pre-activation (`input` is
/// needed only for the weight's).
func linearGradients(input: Tensor?, inputShape: [Int], weight: Tensor, gradPreActivation gz: Tensor, needInput: Bool,
                     needWeight: Bool, needBias: Bool) throws(TensorError) -> [Tensor?] {
    let features = weight.shape[0], outputs = weight.shape[1]
    let rows = ShapeMath.elementCount(inputShape) / max(features, 1)
    let flatGrad = try gz.reshaped([rows, outputs])
    let gx = needInput ? try matmul(flatGrad, try weight.transposed()).reshaped(inputShape) : nil
    let gw = needWeight ? try input.map { (x) throws(TensorError) in try matmul(try x.reshaped([rows, features]).transposed(), flatGrad) } : nil
    let gb = needBias ? try flatGrad.sum(axis: 0) : nil
    return [gx, gw, gb]
}

/// ``linear(_:weight:bias:activation:)`` that also returns `x * weight + bias` before the
/// activation, written by the same kernel (what an exact backward keeps).
func linearForward(_ x: Tensor, weight: Tensor, bias: Tensor?, activation: Activation,
                   keepPreActivation: Bool, fewBit: FewBitOutput? = nil) throws(TensorError) -> (output: Tensor, preActivation: Tensor?) {
    let op = "linear"
    try OpSupport.sameDevice(op, x, weight)
    try ReducedPrecision.requireFloatingPoint(op, x, weight)
    guard weight.rank == 2 else {
        throw .invalidShape(op: op, shape: weight.shape, reason: "weight must be [in, out]")
    }
    guard x.rank >= 1, x.shape[x.rank - 1] == weight.shape[0] else {
        throw .shapeMismatch(op: op, lhs: x.shape, rhs: weight.shape,
                             reason: "input features differ from weight rows")
    }
    if let bias {
        try OpSupport.sameDevice(op, x, bias)
        try ReducedPrecision.requireFloatingPoint(op, bias)
        guard bias.shape == [weight.shape[1]] else {
            throw .shapeMismatch(op: op, lhs: bias.shape, rhs: weight.shape,
                                 reason: "bias must be [out] for weight [in, out]")
        }
    }
    let features = weight.shape[0]
    let rows = x.rank == 1 ? 1 : x.shape.dropLast().reduce(1, *)
    let flat = try x.contiguous().reshaped([rows, features])
    let plan = try MatmulPlan(flat, weight, op: op)
    let preActivation = keepPreActivation ? try OpSupport.output(plan.resultShape, on: x.device) : nil
    // The epilogue's bias is float32 (a 16-bit bias is widened: n elements).
    let biasStorage = try bias.map { (b) throws(TensorError) in try ReducedPrecision.widened(b).contiguous().storage }
    let epilogue = MatmulEpilogue(bias: biasStorage, activation: activation, preActivation: preActivation?.storage,
                                  fewBit: fewBit)
    let out = try plan.run(epilogue: epilogue)
    let outShape = Array(x.shape.dropLast()) + [weight.shape[1]]
    return (try out.reshaped(outShape), try preActivation?.reshaped(outShape))
}

/// Turns two tensors into one backend matmul call: shapes checked, batch axes broadcast,
/// transposed views recognised, anything else made contiguous.
struct MatmulPlan {
    let a: MatrixOperand
    let b: MatrixOperand
    let geometry: MatmulGeometry
    let resultShape: [Int]
    let device: Device

    init(_ lhs: Tensor, _ rhs: Tensor, op: String) throws(TensorError) {
        try OpSupport.sameDevice(op, lhs, rhs)
        try ReducedPrecision.requireFloatingPoint(op, lhs, rhs)
        guard lhs.rank >= 1, rhs.rank >= 1 else {
            throw .shapeMismatch(op: op, lhs: lhs.shape, rhs: rhs.shape, reason: "operands must have at least one axis")
        }
        let left = lhs.rank == 1 ? try lhs.reshaped([1, lhs.shape[0]]) : lhs
        let right = rhs.rank == 1 ? try rhs.reshaped([rhs.shape[0], 1]) : rhs
        let m = left.shape[left.rank - 2], k = left.shape[left.rank - 1]
        let n = right.shape[right.rank - 1]
        guard right.shape[right.rank - 2] == k else {
            throw .shapeMismatch(op: op, lhs: lhs.shape, rhs: rhs.shape, reason: "inner dimensions differ")
        }
        let batchShape = try ShapeMath.broadcast(Array(left.shape.dropLast(2)), Array(right.shape.dropLast(2)), op: op)
        a = try MatrixOperand(left, batchShape: batchShape)
        b = try MatrixOperand(right, batchShape: batchShape)
        geometry = MatmulGeometry(m: m, n: n, k: k, batch: batchShape.reduce(1, *),
                                  transposeA: a.transposed, transposeB: b.transposed,
                                  batchStrideA: a.batchStride, batchStrideB: b.batchStride,
                                  types: OperandTypes(a: lhs.dtype, b: rhs.dtype,
                                                            c: ReducedPrecision.resultType(lhs.dtype, rhs.dtype)))
        var shape = batchShape
        if lhs.rank > 1 { shape.append(m) }
        if rhs.rank > 1 { shape.append(n) }
        resultShape = shape
        device = lhs.device
    }

    func run(epilogue: MatmulEpilogue) throws(TensorError) -> Tensor {
        let buffer = try device.backend.makeBuffer(count: ShapeMath.elementCount(resultShape), dtype: geometry.types.c)
        let out = Tensor(storage: buffer, shape: resultShape, dtype: geometry.types.c, device: device)
        if out.elementCount > 0 {
            try device.backend.run(.matmul(a: a.tensor.storage, b: b.tensor.storage, c: out.storage,
                                           geometry: geometry, epilogue: epilogue))
        }
        return out
    }
}

/// One matmul operand as the kernels take it: a stack of row-major matrices, possibly
/// read transposed, with a batch stride (0 = the same matrix for every batch).
struct MatrixOperand {
    let tensor: Tensor
    let transposed: Bool
    let batchStride: Int

    init(_ source: Tensor, batchShape: [Int]) throws(TensorError) {
        let rows = source.shape[source.rank - 2], cols = source.shape[source.rank - 1]
        let ownCount = source.shape.dropLast(2).reduce(1, *)
        let needsExpansion = ownCount != 1 && ownCount != batchShape.reduce(1, *)
        var tensor = source
        if needsExpansion {
            // Broadcast batch axes that neither match nor are all 1: materialise the expansion.
            let full = batchShape + [rows, cols]
            let strides = broadcastStrides(source, to: full)
            let count = ShapeMath.elementCount(full)
            let buffer = try source.device.backend.makeBuffer(count: count, dtype: source.dtype)
            let layout = StridedLayout(shape: full, strides: strides, offset: source.offset)
            if count > 0, source.dtype.byteSize == 4 {
                try source.device.backend.run(.copyStrided(source: source.storage, layout: layout, destination: buffer))
            } else if count > 0 {
                try source.device.backend.run(.cast(source: source.storage, sourceType: source.dtype, layout: layout,
                                                    destination: buffer, destinationType: source.dtype))
            }
            tensor = Tensor(storage: buffer, shape: full, dtype: source.dtype, device: source.device)
        }
        let r = tensor.rank
        let s = tensor.strides
        let batchContiguous = Self.batchAxesPacked(tensor, blockSize: rows * cols)
        if tensor.offset == 0, batchContiguous, Tensor.isRowMajor(shape: [rows, cols], strides: [s[r - 2], s[r - 1]]) {
            transposed = false
        } else if tensor.offset == 0, batchContiguous, Tensor.isRowMajor(shape: [cols, rows], strides: [s[r - 1], s[r - 2]]) {
            transposed = true
        } else {
            tensor = try tensor.contiguous()
            transposed = false
        }
        self.tensor = tensor
        batchStride = tensor.shape.dropLast(2).reduce(1, *) == 1 ? 0 : rows * cols
    }

    /// True when the batch axes step through consecutive rows*cols blocks.
    private static func batchAxesPacked(_ tensor: Tensor, blockSize: Int) -> Bool {
        var expected = blockSize
        for axis in stride(from: tensor.rank - 3, through: 0, by: -1) where tensor.shape[axis] != 1 {
            if tensor.strides[axis] != expected { return false }
            expected *= tensor.shape[axis]
        }
        return true
    }
}
