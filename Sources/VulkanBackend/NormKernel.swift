import TensorCore

extension VulkanDevice {
    /// LayerNorm over the rows of contiguous `input` [rows, columns] (Shaders/layer_norm.comp;
    /// the rules of ``BackendOp/layerNorm(input:weight:bias:rows:columns:epsilon:output:mean:rstd:types:)``):
    /// one segment of 32 to 256 lanes per row, shared-memory sums.
    ///
    /// A float16 / bfloat16 input or output (`types.a`, `types.c`) runs the 16-bit storage
    /// variant (float32 arithmetic, the output rounded once to nearest even; weight, bias,
    /// mean and rstd float32; the device needs 16-bit storage buffers).
    ///
    /// ```swift
    /// try gpu.layerNorm(x, weight: g, bias: b, rows: 4096, columns: 384, epsilon: 1e-12,
    ///                   into: y, mean: mean, rstd: rstd)
    /// try gpu.layerNorm(x16, weight: g, bias: b, rows: 4096, columns: 384, epsilon: 1e-12,
    ///                   into: y16, mean: mean, rstd: rstd, types: OperandTypes(a: .float16, c: .float16))
    /// ```
    public func layerNorm(_ input: any BackendBuffer, weight: (any BackendBuffer)?, bias: (any BackendBuffer)?,
                          rows: Int, columns: Int, epsilon: Float, into output: any BackendBuffer,
                          mean: any BackendBuffer, rstd: any BackendBuffer,
                          types: OperandTypes = .float32) throws(TensorError) {
        try normForward("layerNorm", input, weight: weight, bias: bias, rows: rows, columns: columns, epsilon: epsilon,
                        output: output, mean: mean, rstd: rstd, types: types)
    }

    /// RMSNorm over the rows of contiguous `input` [rows, columns] (Shaders/layer_norm.comp;
    /// the rules of ``BackendOp/rmsNorm(input:weight:rows:columns:epsilon:output:rstd:types:)``).
    ///
    /// 16-bit `types` as for ``layerNorm(_:weight:bias:rows:columns:epsilon:into:mean:rstd:types:)``.
    ///
    /// ```swift
    /// try gpu.rmsNorm(x, weight: g, rows: 4096, columns: 384, epsilon: 1e-6, into: y, rstd: rstd)
    /// ```
    public func rmsNorm(_ input: any BackendBuffer, weight: (any BackendBuffer)?, rows: Int, columns: Int,
                        epsilon: Float, into output: any BackendBuffer, rstd: any BackendBuffer,
                        types: OperandTypes = .float32) throws(TensorError) {
        try normForward("rmsNorm", input, weight: weight, bias: nil, rows: rows, columns: columns, epsilon: epsilon,
                        output: output, mean: nil, rstd: rstd, types: types)
    }

    /// LayerNorm's backward (Shaders/layer_norm_backward.comp; the rules of
    /// ``BackendOp/layerNormBackward(input:weight:gradOutput:mean:rstd:rows:columns:gradInput:gradWeight:gradBias:)``):
    /// one dispatch for the input's gradient, row by row, and one for the weight's and bias's
    /// column sums (without float atomics, so the sums are the same every run).
    ///
    /// ```swift
    /// try gpu.layerNormBackward(x, weight: g, gradOutput: dy, mean: mean, rstd: rstd, rows: 4096, columns: 384,
    ///                           into: dx, gradWeight: dg, gradBias: db)
    /// ```
    public func layerNormBackward(_ input: any BackendBuffer, weight: (any BackendBuffer)?, gradOutput: any BackendBuffer,
                                  mean: any BackendBuffer, rstd: any BackendBuffer, rows: Int, columns: Int,
                                  into gradInput: any BackendBuffer, gradWeight: (any BackendBuffer)?,
                                  gradBias: (any BackendBuffer)?) throws(TensorError) {
        try normBackward("layerNormBackward", input, weight: weight, gradOutput: gradOutput, mean: mean, rstd: rstd,
                         rows: rows, columns: columns, gradInput: gradInput, gradWeight: gradWeight, gradBias: gradBias)
    }

    /// RMSNorm's backward (Shaders/layer_norm_backward.comp; the rules of
    /// ``BackendOp/rmsNormBackward(input:weight:gradOutput:rstd:rows:columns:gradInput:gradWeight:)``).
    ///
    /// ```swift
    /// try gpu.rmsNormBackward(x, weight: g, gradOutput: dy, rstd: rstd, rows: 4096, columns: 384,
    ///                         into: dx, gradWeight: dg)
    /// ```
    public func rmsNormBackward(_ input: any BackendBuffer, weight: (any BackendBuffer)?, gradOutput: any BackendBuffer,
                                rstd: any BackendBuffer, rows: Int, columns: Int, into gradInput: any BackendBuffer,
                                gradWeight: (any BackendBuffer)?) throws(TensorError) {
        try normBackward("rmsNormBackward", input, weight: weight, gradOutput: gradOutput, mean: nil, rstd: rstd,
                         rows: rows, columns: columns, gradInput: gradInput, gradWeight: gradWeight, gradBias: nil)
    }

    /// LayerNorm's (`centered`) or RMSNorm's backward from the forward's output
    /// (Shaders/layer_norm_backward.comp with FROM_OUTPUT; the rules of
    /// ``BackendOp/normBackwardFromOutput(output:weight:bias:gradOutput:rstd:rows:columns:centered:gradInput:gradWeight:gradBias:)``).
    ///
    /// ```swift
    /// try gpu.normBackwardFromOutput(y, weight: g, bias: b, gradOutput: dy, rstd: rstd, rows: 4096, columns: 384,
    ///                                centered: true, into: dx, gradWeight: dg, gradBias: db)
    /// ```
    public func normBackwardFromOutput(_ output: any BackendBuffer, weight: (any BackendBuffer)?, bias: (any BackendBuffer)?,
                                       gradOutput: any BackendBuffer, rstd: any BackendBuffer, rows: Int, columns: Int,
                                       centered: Bool, into gradInput: any BackendBuffer, gradWeight: (any BackendBuffer)?,
                                       gradBias: (any BackendBuffer)?) throws(TensorError) {
        try normBackward("normBackwardFromOutput", output, weight: weight, gradOutput: gradOutput, mean: nil, rstd: rstd,
                         rows: rows, columns: columns, gradInput: gradInput, gradWeight: gradWeight, gradBias: gradBias,
                         fromOutput: (bias: bias, centered: centered))
    }

    /// Lanes per row: about four columns each, a power of two from 32 to 256.
    static func normRowLanes(_ columns: Int) -> Int {
        var lanes = 32
        while lanes < 256 && lanes * 4 < columns { lanes *= 2 }
        return lanes
    }

    private func normBuffer(_ buffer: (any BackendBuffer)?, holds count: Int, _ op: String,
                            _ role: String, dtype: DType = .float32) throws(TensorError) -> VulkanBuffer? {
        guard let buffer else { return nil }
        let vulkan = try self.buffer(buffer, op)
        let capacity = vulkan.byteCount / dtype.byteSize
        guard count <= capacity else {
            throw .invalidArgument(op: op, reason: "\(role) holds \(capacity) elements, \(count) needed")
        }
        return vulkan
    }

    private func normExtent(_ op: String, _ rows: Int, _ columns: Int) throws(TensorError) -> Int {
        let (count, overflow) = rows.multipliedReportingOverflow(by: columns)
        guard rows >= 0, columns >= 0, !overflow, count <= Int(UInt32.max) else {
            throw .invalidArgument(op: op, reason: "[\(rows), \(columns)] is negative or beyond 32-bit indexing")
        }
        return count
    }

    private func normForward(_ op: String, _ input: any BackendBuffer, weight: (any BackendBuffer)?,
                             bias: (any BackendBuffer)?, rows: Int, columns: Int, epsilon: Float,
                             output: any BackendBuffer, mean: (any BackendBuffer)?,
                             rstd: any BackendBuffer, types: OperandTypes) throws(TensorError) {
        let types = OperandTypes(a: types.a, c: types.c)   // types.b (unused) stays float32
        try requireStorage16(types, op: op)
        let count = try normExtent(op, rows, columns)
        let x = try normBuffer(input, holds: count, op, "input", dtype: types.a)!
        let y = try normBuffer(output, holds: count, op, "output", dtype: types.c)!
        let w = try normBuffer(weight, holds: columns, op, "weight"), b = try normBuffer(bias, holds: columns, op, "bias")
        let m = try normBuffer(mean, holds: rows, op, "mean"), r = try normBuffer(rstd, holds: rows, op, "rstd")!
        guard rows > 0, columns > 0 else { return }
        let lanes = Self.normRowLanes(columns)
        var push = PushConstants()
        push.append(rows)
        push.append(columns)
        push.append(epsilon)
        var constants = SpecConstants([0: m == nil ? 0 : 1, 1: w == nil ? 0 : 1, 2: b == nil ? 0 : 1, 3: UInt32(lanes)])
        if !types.isFloat32 { constants.set(4, types.kernelCode) }
        // Absent operands bind a placeholder the shader never touches under its flags (for
        // the writable mean slot, rstd: the validation layer counts it as written).
        try dispatch(types.isFloat32 ? .layerNorm : .layerNormStorage16, constants: constants,
                     buffers: [(x, .read), w.map { ($0, .read) } ?? (x, .unused), b.map { ($0, .read) } ?? (x, .unused),
                               (y, .write), m.map { ($0, .write) } ?? (r, .unused), (r, .write)],
                     push: push, groups: (min((rows + 256 / lanes - 1) / (256 / lanes), maxGroupCount.x), 1, 1))
    }

    private func normBackward(_ op: String, _ input: any BackendBuffer, weight: (any BackendBuffer)?,
                              gradOutput: any BackendBuffer, mean: (any BackendBuffer)?, rstd: any BackendBuffer,
                              rows: Int, columns: Int, gradInput: any BackendBuffer, gradWeight: (any BackendBuffer)?,
                              gradBias: (any BackendBuffer)?,
                              fromOutput: (bias: (any BackendBuffer)?, centered: Bool)? = nil) throws(TensorError) {
        let count = try normExtent(op, rows, columns)
        let x = try normBuffer(input, holds: count, op, "input")!
        let dy = try normBuffer(gradOutput, holds: count, op, "gradOutput")!
        let dx = try normBuffer(gradInput, holds: count, op, "gradInput")!
        let w = try normBuffer(weight, holds: columns, op, "weight")
        let m = try normBuffer(mean, holds: rows, op, "mean"), r = try normBuffer(rstd, holds: rows, op, "rstd")!
        let outputBias = try normBuffer(fromOutput?.bias, holds: columns, op, "bias")
        let centered = fromOutput?.centered ?? (m != nil)
        let dw = try normBuffer(gradWeight, holds: columns, op, "gradWeight")
        let db = try normBuffer(gradBias, holds: columns, op, "gradBias")
        guard columns > 0 else { return }
        let lanes = Self.normRowLanes(columns)
        var push = PushConstants()
        push.append(rows)
        push.append(columns)
        // Each row's shift c (see the shader) for the weight's column sums, when both run.
        let shift = m != nil && dw != nil && rows > 0 ? try buffer(makeBuffer(elementCount: rows), op) : nil
        func constants(pass: UInt32) -> SpecConstants {
            SpecConstants([0: centered ? 1 : 0, 1: w == nil ? 0 : 1, 2: UInt32(lanes), 3: pass,
                           4: dw == nil ? 0 : 1, 5: db == nil ? 0 : 1, 6: shift == nil ? 0 : 1,
                           7: fromOutput == nil ? 0 : 1, 8: outputBias == nil ? 0 : 1])
        }
        // Absent operands bind a placeholder the shader never touches under its flags: for a
        // slot the shader declares writable, a buffer the dispatch writes anyway (the
        // validation layer counts every writable binding as a write).
        let weightBinding = w.map { ($0, Access.read) } ?? (x, .unused)
        // Binding 3: the mean, or (from the output) the bias.
        let meanBinding = (m ?? outputBias).map { ($0, Access.read) } ?? (x, .unused)
        if rows > 0 {
            try dispatch(.layerNormBackward, constants: constants(pass: 0),
                         buffers: [(x, .read), weightBinding, (dy, .read), meanBinding, (r, .read), (dx, .write),
                                   (dx, .unused), (dx, .unused), shift.map { ($0, .write) } ?? (dx, .unused)],
                         push: push, groups: (min((rows + 256 / lanes - 1) / (256 / lanes), maxGroupCount.x), 1, 1))
        }
        guard let sums = dw ?? db else { return }
        try dispatch(.layerNormBackward, constants: constants(pass: 1),
                     buffers: [(x, .read), fromOutput == nil ? (x, .unused) : weightBinding, (dy, .read), meanBinding,
                               (r, .read), (sums, .unused),
                               dw.map { ($0, .write) } ?? (sums, .unused), db.map { ($0, .write) } ?? (sums, .unused),
                               shift.map { ($0, .read) } ?? (sums, .unused)],
                     push: push, groups: (min((columns + 31) / 32, maxGroupCount.x), 1, 1))
    }
}
