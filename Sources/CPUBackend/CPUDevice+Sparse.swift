import TensorCore

extension CPUDevice {
    /// Multiply-accumulates (weights read) below which a sparse kernel stays on one core:
    /// about 1 MB of weights, ~80 us of streaming, against ~50 us to wake the other core.
    static let sparseParallelWork = 1 << 18

    /// Counts the inputs that survive the threshold, per row and over the batch.
    ///
    /// `counts` (int32, `rows + 1` elements) receives each row's count of `|x| > t`, then the
    /// number of channels that survive in at least one row.
    ///
    /// ```swift
    /// try cpu.sparseActiveCounts(x, rows: 4, inner: 4096, threshold: .scalar(0), into: counts)
    /// ```
    public func sparseActiveCounts(_ x: any BackendBuffer, rows: Int, inner: Int, threshold: SparseThreshold,
                                   into counts: any BackendBuffer) throws(TensorError) {
        let op = "sparseActiveCounts"
        let x = try cpuBuffer(x, op: op), counts = try cpuBuffer(counts, op: op)
        guard rows >= 0, inner >= 0 else { throw .invalidArgument(op: op, reason: "negative extent") }
        try require(x, holds: rows * inner, op: op, role: "x")
        try require(counts, holds: rows + 1, op: op, role: "counts")
        let thresholds = try sparseThresholds(threshold, inner: inner, op: op)
        let out = UnsafeMutableRawPointer(counts.base)
        let flags = UnsafeMutablePointer<Int32>.allocate(capacity: max(inner, 1))
        defer { flags.deallocate() }
        flags.update(repeating: 0, count: inner)
        for r in 0..<rows {
            let kept = SparseKernels.countAndMark(x.base + r * inner, inner: inner, thresholds: thresholds, flags: flags)
            out.storeBytes(of: Int32(kept), toByteOffset: r * 4, as: Int32.self)
        }
        out.storeBytes(of: Int32(SparseKernels.countFlags(flags, inner)), toByteOffset: rows * 4, as: Int32.self)
    }

    /// Input-sparse product: `y = x~ * w`, reading only the weight rows of surviving inputs.
    ///
    /// `.perRow` compacts each row's surviving channels and accumulates its own weight rows;
    /// `.unionOverBatch` compacts the union once and applies each weight row to the whole batch
    /// (a small GEMM over the listed rows, `te_gathered_gemm`, on AVX-512 / AVX2 CPUs; elsewhere a loop
    /// that skips rows whose four inputs in a group are all zero); `.dense` thresholds x and
    /// runs the dense product. Columns are split across cores above ``sparseParallelWork``.
    ///
    /// ```swift
    /// try cpu.sparseMatmul(x, w, into: y, rows: 1, inner: 4096, columns: 11008,
    ///                      threshold: .scalar(0), mode: .perRow)
    /// ```
    public func sparseMatmul(_ x: any BackendBuffer, _ w: any BackendBuffer, into y: any BackendBuffer,
                             rows: Int, inner: Int, columns: Int, threshold: SparseThreshold,
                             mode: SparseMode) throws(TensorError) {
        let op = "sparseMatmul"
        let xb = try cpuBuffer(x, op: op), wb = try cpuBuffer(w, op: op), yb = try cpuBuffer(y, op: op)
        guard rows >= 0, inner >= 0, columns >= 0 else { throw .invalidArgument(op: op, reason: "negative extent") }
        try require(xb, holds: rows * inner, op: op, role: "x")
        try require(wb, holds: inner * columns, op: op, role: "w")
        try require(yb, holds: rows * columns, op: op, role: "y")
        let thresholds = try sparseThresholds(threshold, inner: inner, op: op)
        if rows * columns == 0 { return }
        if inner == 0 {
            yb.base.update(repeating: 0, count: rows * columns)
            return
        }
        let geometry = MatmulGeometry(m: rows, n: columns, k: inner)
        switch mode {
        case .dense:
            if threshold.isExactZero {
                try matmul(xb, wb, into: yb, geometry: geometry, epilogue: .none)
            } else {
                let cleaned = try cpuBuffer(makeBuffer(elementCount: rows * inner), op: op)
                let (source, target) = (UnsafePointer(xb.base), cleaned.base)
                parallelFor(count: rows * inner, threads: threads, grain: Self.elementwiseGrain) { range in
                    SparseKernels.threshold(source, into: target, inner: inner, thresholds: thresholds, range: range)
                }
                try matmul(cleaned, wb, into: yb, geometry: geometry, epilogue: .none)
            }
        case .perRow:
            perRowProduct(xb.base, wb.base, yb.base, rows: rows, inner: inner, columns: columns, thresholds: thresholds)
        case .unionOverBatch:
            unionProduct(xb.base, wb.base, yb.base, rows: rows, inner: inner, columns: columns, thresholds: thresholds)
        }
    }

    private func perRowProduct(_ x: UnsafeMutablePointer<Float>, _ w: UnsafeMutablePointer<Float>,
                               _ y: UnsafeMutablePointer<Float>, rows: Int, inner: Int, columns: Int,
                               thresholds: SparseKernels.Thresholds) {
        let indices = UnsafeMutablePointer<Int32>.allocate(capacity: rows * inner)
        let values = UnsafeMutablePointer<Float>.allocate(capacity: rows * inner)
        var counts = [Int](repeating: 0, count: rows)
        defer {
            indices.deallocate()
            values.deallocate()
        }
        for r in 0..<rows {
            counts[r] = SparseKernels.compact(x + r * inner, inner: inner, thresholds: thresholds,
                                              indices: indices + r * inner, values: values + r * inner)
        }
        let work = counts.reduce(0, +) * columns
        if rows == 1, threads > 1, work >= Self.sparseParallelWork, counts[0] >= 16 {
            // One row: each core streams whole weight rows of its half of the list (long
            // sequential runs prefetch better than half rows), then the halves are added.
            let half = (counts[0] / 2) & ~7, total = counts[0]
            let partial = UnsafeMutablePointer<Float>.allocate(capacity: columns)
            defer { partial.deallocate() }
            parallelFor(count: 2, threads: 2, grain: 1, alignment: 1) { parts in
                for part in parts {
                    let (start, end) = part == 0 ? (0, half) : (half, total)
                    SparseKernels.gatherRow(w: w, ldw: columns, indices: indices + start, values: values + start,
                                            count: end - start, y: part == 0 ? y : partial, columns: 0..<columns)
                }
            }
            SparseKernels.add(partial, into: y, count: columns)
            return
        }
        counts.withUnsafeBufferPointer { counts in
            parallelFor(count: columns, threads: work >= Self.sparseParallelWork ? threads : 1, grain: 64) { range in
                for r in 0..<rows {
                    SparseKernels.gatherRow(w: w, ldw: columns, indices: indices + r * inner, values: values + r * inner,
                                            count: counts[r], y: y + r * columns, columns: range)
                }
            }
        }
    }

    private func unionProduct(_ x: UnsafeMutablePointer<Float>, _ w: UnsafeMutablePointer<Float>,
                              _ y: UnsafeMutablePointer<Float>, rows: Int, inner: Int, columns: Int,
                              thresholds: SparseKernels.Thresholds) {
        let flags = UnsafeMutablePointer<Int32>.allocate(capacity: inner)
        let indices = UnsafeMutablePointer<Int32>.allocate(capacity: inner)
        defer {
            flags.deallocate()
            indices.deallocate()
        }
        flags.update(repeating: 0, count: inner)
        for r in 0..<rows {
            _ = SparseKernels.countAndMark(x + r * inner, inner: inner, thresholds: thresholds, flags: flags)
        }
        var union = 0
        for k in 0..<inner {
            indices[union] = Int32(truncatingIfNeeded: k)
            union &+= Int(flags[k])
        }
        // The batch's inputs at the union's channels, thresholded: xs[r, i] = x~[r, indices[i]].
        let xs = UnsafeMutablePointer<Float>.allocate(capacity: max(rows * union, 1))
        defer { xs.deallocate() }
        for r in 0..<rows {
            let row = x + r * inner, out = xs + r * union
            for i in 0..<union {
                let k = Int(indices[i]), v = row[k]
                out[i] = thresholds.keeps(v, channel: k) ? v : 0
            }
        }
        let work = union * columns * max(1, rows / 4)
        parallelFor(count: columns, threads: work >= Self.sparseParallelWork ? threads : 1, grain: 64) { range in
            SparseKernels.gatheredProduct(w: w, ldw: columns, indices: indices, count: union, xs: xs, ldx: union,
                                          batch: rows, y: y, ldy: columns, columns: range)
        }
    }

    /// Output-sparse product: only the listed outputs are computed, every other output is 0.
    ///
    /// `w` is row-major [columns, inner]; for each of the first `activeCount` int32 indices n,
    /// `y[r, n] = f(x[r, :] . w[n, :] + bias[n])` (and `preActivation[r, n]` the value before f).
    /// Each listed weight row is read once for the whole batch; the list is split across
    /// cores above ``sparseParallelWork``.
    ///
    /// ```swift
    /// try cpu.outputSparseMatmul(x, w, activeRows: active, activeCount: 1200, into: y,
    ///                            rows: 1, inner: 4096, columns: 11008,
    ///                            epilogue: MatmulEpilogue(activation: .relu))
    /// ```
    public func outputSparseMatmul(_ x: any BackendBuffer, _ w: any BackendBuffer, activeRows: any BackendBuffer,
                                   activeCount: Int, into y: any BackendBuffer, rows: Int, inner: Int, columns: Int,
                                   epilogue: MatmulEpilogue) throws(TensorError) {
        let op = "outputSparseMatmul"
        let xb = try cpuBuffer(x, op: op), wb = try cpuBuffer(w, op: op), yb = try cpuBuffer(y, op: op)
        let active = try cpuBuffer(activeRows, op: op)
        guard rows >= 0, inner >= 0, columns >= 0, activeCount >= 0 else {
            throw .invalidArgument(op: op, reason: "negative extent or count")
        }
        try require(xb, holds: rows * inner, op: op, role: "x")
        try require(wb, holds: inner * columns, op: op, role: "w")
        try require(yb, holds: rows * columns, op: op, role: "y")
        try require(active, holds: activeCount, op: op, role: "activeRows")
        guard epilogue.fewBit == nil else {
            throw .invalidArgument(op: op, reason: "few-bit codes are not produced by the output-sparse product")
        }
        let bias = try epilogue.bias.map { (buffer) throws(TensorError) in try cpuBuffer(buffer, op: op) }
        let pre = try epilogue.preActivation.map { (buffer) throws(TensorError) in try cpuBuffer(buffer, op: op) }
        if let bias { try require(bias, holds: columns, op: op, role: "bias") }
        if let pre { try require(pre, holds: rows * columns, op: op, role: "preActivation") }
        let list = UnsafeRawPointer(active.base)
        for i in 0..<activeCount {
            let n = list.load(fromByteOffset: i * 4, as: Int32.self)
            guard n >= 0, Int(n) < columns else {
                throw .invalidArgument(op: op, reason: "active row \(n) at position \(i) is outside 0..<\(columns)")
            }
        }
        yb.base.update(repeating: 0, count: rows * columns)
        pre?.base.update(repeating: 0, count: rows * columns)
        guard rows > 0 else { return }
        let (xp, wp, yp) = (UnsafePointer(xb.base), UnsafePointer(wb.base), yb.base)
        let (biasPointer, prePointer) = (bias.map { UnsafePointer($0.base) }, pre?.base)
        let activation = epilogue.activation
        let grain = max(1, Self.sparseParallelWork / max(1, rows * inner))
        parallelFor(count: activeCount, threads: threads, grain: grain, alignment: 1) { range in
            SparseOutputKernels.rows(x: xp, w: wp, active: list, range: range, y: yp, pre: prePointer, bias: biasPointer,
                                     activation: activation, rows: rows, inner: inner, columns: columns)
        }
    }

    /// The threshold as the kernels take it; a per-channel buffer must hold `inner` values.
    private func sparseThresholds(_ threshold: SparseThreshold, inner: Int,
                                  op: String) throws(TensorError) -> SparseKernels.Thresholds {
        switch threshold {
        case let .scalar(t):
            return SparseKernels.Thresholds(scalar: t, perChannel: nil)
        case let .perChannel(buffer):
            let thresholds = try cpuBuffer(buffer, op: op)
            try require(thresholds, holds: inner, op: op, role: "per-channel threshold")
            return SparseKernels.Thresholds(scalar: 0, perChannel: UnsafePointer(thresholds.base))
        }
    }
}
