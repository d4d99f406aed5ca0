import TensorCore

extension CPUDevice {
    /// LayerNorm over the rows of contiguous `input` [rows, columns] (the rules of
    /// ``BackendOp/layerNorm(input:weight:bias:rows:columns:epsilon:output:mean:rstd:types:)``),
    /// rows split across threads.
    ///
    /// ```swift
    /// try cpu.layerNorm(x, weight: g, bias: b, rows: 4096, columns: 384, epsilon: 1e-12,
    ///                   into: y, mean: mean, rstd: rstd)
    /// ```
    public func layerNorm(_ input: any BackendBuffer, weight: (any BackendBuffer)?, bias: (any BackendBuffer)?,
                          rows: Int, columns: Int, epsilon: Float, into output: any BackendBuffer,
                          mean: any BackendBuffer, rstd: any BackendBuffer) throws(TensorError) {
        try normForward("layerNorm", input, weight: weight, bias: bias, rows: rows, columns: columns, epsilon: epsilon,
                        output: output, mean: mean, rstd: rstd)
    }

    /// RMSNorm over the rows of contiguous `input` [rows, columns] (the rules of
    /// ``BackendOp/rmsNorm(input:weight:rows:columns:epsilon:output:rstd:types:)``).
    ///
    /// ```swift
    /// try cpu.rmsNorm(x, weight: g, rows: 4096, columns: 384, epsilon: 1e-6, into: y, rstd: rstd)
    /// ```
    public func rmsNorm(_ input: any BackendBuffer, weight: (any BackendBuffer)?, rows: Int, columns: Int,
                        epsilon: Float, into output: any BackendBuffer, rstd: any BackendBuffer) throws(TensorError) {
        try normForward("rmsNorm", input, weight: weight, bias: nil, rows: rows, columns: columns, epsilon: epsilon,
                        output: output, mean: nil, rstd: rstd)
    }

    /// LayerNorm's backward (the rules of ``BackendOp/layerNormBackward(input:weight:gradOutput:mean:rstd:rows:columns:gradInput:gradWeight:gradBias:)``).
    ///
    /// ```swift
    /// try cpu.layerNormBackward(x, weight: g, gradOutput: dy, mean: mean, rstd: rstd, rows: 4096, columns: 384,
    ///                           into: dx, gradWeight: dg, gradBias: db)
    /// ```
    public func layerNormBackward(_ input: any BackendBuffer, weight: (any BackendBuffer)?, gradOutput: any BackendBuffer,
                                  mean: any BackendBuffer, rstd: any BackendBuffer, rows: Int, columns: Int,
                                  into gradInput: any BackendBuffer, gradWeight: (any BackendBuffer)?,
                                  gradBias: (any BackendBuffer)?) throws(TensorError) {
        try normBackward("layerNormBackward", input, weight: weight, gradOutput: gradOutput, mean: mean, rstd: rstd,
                         rows: rows, columns: columns, gradInput: gradInput, gradWeight: gradWeight, gradBias: gradBias)
    }

    /// RMSNorm's backward (the rules of ``BackendOp/rmsNormBackward(input:weight:gradOutput:rstd:rows:columns:gradInput:gradWeight:)``).
    ///
    /// ```swift
    /// try cpu.rmsNormBackward(x, weight: g, gradOutput: dy, rstd: rstd, rows: 4096, columns: 384,
    ///                         into: dx, gradWeight: dg)
    /// ```
    public func rmsNormBackward(_ input: any BackendBuffer, weight: (any BackendBuffer)?, gradOutput: any BackendBuffer,
                                rstd: any BackendBuffer, rows: Int, columns: Int, into gradInput: any BackendBuffer,
                                gradWeight: (any BackendBuffer)?) throws(TensorError) {
        try normBackward("rmsNormBackward", input, weight: weight, gradOutput: gradOutput, mean: nil, rstd: rstd,
                         rows: rows, columns: columns, gradInput: gradInput, gradWeight: gradWeight, gradBias: nil)
    }

    /// LayerNorm's (`centered`) or RMSNorm's backward from the forward's output (the rules of
    /// ``BackendOp/normBackwardFromOutput(output:weight:bias:gradOutput:rstd:rows:columns:centered:gradInput:gradWeight:gradBias:)``).
    ///
    /// ```swift
    /// try cpu.normBackwardFromOutput(y, weight: g, bias: b, gradOutput: dy, rstd: rstd, rows: 4096, columns: 384,
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

    /// Rows per thread chunk: about a quarter of the elementwise grain's elements.
    private func normGrain(_ columns: Int) -> Int { max(1, Self.elementwiseGrain / (4 * max(columns, 1))) }

    private func optionalBuffer(_ buffer: (any BackendBuffer)?, holds count: Int, op: String,
                                role: String) throws(TensorError) -> CPUBuffer? {
        guard let buffer else { return nil }
        let cpu = try cpuBuffer(buffer, op: op)
        try require(cpu, holds: count, op: op, role: role)
        return cpu
    }

    private func normForward(_ op: String, _ input: any BackendBuffer, weight: (any BackendBuffer)?,
                             bias: (any BackendBuffer)?, rows: Int, columns: Int, epsilon: Float,
                             output: any BackendBuffer, mean: (any BackendBuffer)?,
                             rstd: any BackendBuffer) throws(TensorError) {
        guard rows >= 0, columns >= 0 else {
            throw .invalidArgument(op: op, reason: "negative extent in [\(rows), \(columns)]")
        }
        let (count, overflow) = rows.multipliedReportingOverflow(by: columns)
        guard !overflow else { throw .invalidArgument(op: op, reason: "[\(rows), \(columns)] overflows") }
        let ib = try cpuBuffer(input, op: op), ob = try cpuBuffer(output, op: op)
        try require(ib, holds: count, op: op, role: "input")
        try require(ob, holds: count, op: op, role: "output")
        let wb = try optionalBuffer(weight, holds: columns, op: op, role: "weight")
        let bb = try optionalBuffer(bias, holds: columns, op: op, role: "bias")
        let mb = try optionalBuffer(mean, holds: rows, op: op, role: "mean")
        let rb = try cpuBuffer(rstd, op: op)
        try require(rb, holds: rows, op: op, role: "rstd")
        guard rows > 0, columns > 0 else { return }
        let x = UnsafePointer(ib.base), y = ob.base, w = wb.map { UnsafePointer($0.base) }
        let b = bb.map { UnsafePointer($0.base) }, means = mb?.base, rstds = rb.base
        let centered = mean != nil
        parallelFor(count: rows, threads: threads, grain: normGrain(columns), alignment: 1) { range in
            for row in range {
                let (m, r) = NormKernels.forwardRow(x + row * columns, y + row * columns, columns, weight: w, bias: b,
                                                    centered: centered, epsilon: epsilon)
                means?[row] = m
                rstds[row] = r
            }
        }
    }

    /// Rows in each block whose gradWeight/gradBias partial sums are kept apart: a function
    /// of `rows` alone (at most 256 blocks), so the sums' order, and so their rounding, does
    /// not depend on the thread count.
    static func normBlockRows(_ rows: Int) -> Int { max(32, (rows + 255) / 256) }

    private func normBackward(_ op: String, _ input: any BackendBuffer, weight: (any BackendBuffer)?,
                              gradOutput: any BackendBuffer, mean: (any BackendBuffer)?, rstd: any BackendBuffer,
                              rows: Int, columns: Int, gradInput: any BackendBuffer, gradWeight: (any BackendBuffer)?,
                              gradBias: (any BackendBuffer)?,
                              fromOutput: (bias: (any BackendBuffer)?, centered: Bool)? = nil) throws(TensorError) {
        guard rows >= 0, columns >= 0 else {
            throw .invalidArgument(op: op, reason: "negative extent in [\(rows), \(columns)]")
        }
        let (count, overflow) = rows.multipliedReportingOverflow(by: columns)
        guard !overflow else { throw .invalidArgument(op: op, reason: "[\(rows), \(columns)] overflows") }
        let ib = try cpuBuffer(input, op: op), gb = try cpuBuffer(gradOutput, op: op), db = try cpuBuffer(gradInput, op: op)
        try require(ib, holds: count, op: op, role: "input")
        try require(gb, holds: count, op: op, role: "gradOutput")
        try require(db, holds: count, op: op, role: "gradInput")
        let wb = try optionalBuffer(weight, holds: columns, op: op, role: "weight")
        let mb = try optionalBuffer(mean, holds: rows, op: op, role: "mean")
        let biasBuffer = try optionalBuffer(fromOutput?.bias, holds: columns, op: op, role: "bias")
        let rb = try cpuBuffer(rstd, op: op)
        try require(rb, holds: rows, op: op, role: "rstd")
        let gwb = try optionalBuffer(gradWeight, holds: columns, op: op, role: "gradWeight")
        let gbb = try optionalBuffer(gradBias, holds: columns, op: op, role: "gradBias")
        guard columns > 0 else { return }
        let sums = [gwb, gbb].compactMap { $0 }
        guard rows > 0 else {
            for sum in sums { sum.base.update(repeating: 0, count: columns) }
            return
        }
        let x = UnsafePointer(ib.base), dy = UnsafePointer(gb.base), dx = db.base
        let w = wb.map { UnsafePointer($0.base) }, means = mb.map { UnsafePointer($0.base) }, rstds = UnsafePointer(rb.base)
        let centered = fromOutput?.centered ?? (mean != nil)
        let outputBias = biasBuffer.map { UnsafePointer($0.base) }, isFromOutput = fromOutput != nil
        let blockRows = Self.normBlockRows(rows)
        let blocks = (rows + blockRows - 1) / blockRows
        // Partial column sums per block: [blocks, columns] for each requested sum.
        let partialCount = sums.isEmpty ? 0 : blocks * columns * sums.count
        let partials = UnsafeMutablePointer<Float>.allocate(capacity: max(partialCount, 1))
        defer { partials.deallocate() }
        partials.initialize(repeating: 0, count: max(partialCount, 1))
        let slots = sums.count
        let weightSlot = gwb == nil ? nil : 0, biasSlot = gbb == nil ? nil : (gwb == nil ? 0 : 1)
        let blockGrain = max(1, normGrain(columns) / blockRows)
        parallelFor(count: blocks, threads: threads, grain: blockGrain, alignment: 1) { range in
            for block in range {
                let partialBase = partials + block * columns * slots
                let pw = weightSlot.map { partialBase + $0 * columns }, pb = biasSlot.map { partialBase + $0 * columns }
                for row in (block * blockRows)..<min(rows, (block + 1) * blockRows) {
                    if isFromOutput {
                        NormKernels.backwardRowFromOutput(x + row * columns, dy + row * columns, dx + row * columns, columns,
                                                          weight: w, bias: outputBias, rstd: rstds[row], centered: centered,
                                                          gradWeight: pw, gradBias: pb)
                        continue
                    }
                    NormKernels.backwardRow(x + row * columns, dy + row * columns, dx + row * columns, columns,
                                            weight: w, mean: means?[row] ?? 0, rstd: rstds[row], centered: centered,
                                            gradWeight: pw, gradBias: pb)
                }
            }
        }
        // The blocks' partials, summed in block order.
        for (slot, sum) in sums.enumerated() {
            let out = sum.base
            out.update(from: partials + slot * columns, count: columns)
            for block in 1..<blocks {
                let part = UnsafePointer(partials + (block * sums.count + slot) * columns)
                let vectorEnd = columns & ~15
                var j = 0
                while j < vectorEnd {
                    NormKernels.store(NormKernels.load(out + j) + NormKernels.load(part + j), out + j)
                    j += 16
                }
                while j < columns { out[j] += part[j]; j += 1 }
            }
        }
    }
}
