import TensorCore

extension CPUDevice {
    /// Row gather, the embedding lookup (the rules of ``BackendOp/gatherRows``): one row copy
    /// per index, parallel over the indices; an index outside 0..<rows gives a row of zeros.
    ///
    /// ```swift
    /// try cpu.gatherRows(table, dtype: .float32, rows: 30522, columns: 384, indices: ids, count: 4096, into: out)
    /// ```
    public func gatherRows(_ table: any BackendBuffer, dtype: DType, rows: Int, columns: Int, indices: any BackendBuffer,
                           count: Int, into output: any BackendBuffer) throws(TensorError) {
        let op = "gatherRows"
        guard dtype.byteSize == 4 || dtype.byteSize == 2 else { throw .unsupportedDType(op: op, dtype: dtype) }
        let tb = try cpuBuffer(table, op: op), ib = try cpuBuffer(indices, op: op), ob = try cpuBuffer(output, op: op)
        let size = dtype.byteSize
        try require(tb, holds: (rows * columns * size + 3) / 4, op: op, role: "table")
        try require(ib, holds: count, op: op, role: "indices")
        try require(ob, holds: (count * columns * size + 3) / 4, op: op, role: "output")
        guard count > 0, columns > 0 else { return }
        let source = UnsafeRawPointer(tb.base), index = UnsafeRawPointer(ib.base), out = UnsafeMutableRawPointer(ob.base)
        let rowBytes = columns * size
        parallelFor(count: count, threads: threads, grain: max(1, Self.elementwiseGrain / columns), alignment: 1) { range in
            for n in range {
                let row = Int(index.load(fromByteOffset: n * 4, as: Int32.self))
                let line = out + n * rowBytes
                if row >= 0, row < rows {
                    line.copyMemory(from: source + row * rowBytes, byteCount: rowBytes)
                } else {
                    line.initializeMemory(as: UInt8.self, repeating: 0, count: rowBytes)
                }
            }
        }
    }

    /// Deterministic row scatter-add (the rules of ``BackendOp/scatterAddRows``).
    ///
    /// The output is zeroed, then each thread owns a disjoint block of columns and walks the
    /// indices in ascending order, adding `source[n, block]` to `output[indices[n], block]`:
    /// every element is a sum in ascending `n` whatever the thread count, so the result is
    /// bitwise reproducible (and equal to the Vulkan kernel's, which sums in the same order).
    /// Work is the zeroing plus `count * columns` additions: rows no index names cost nothing more.
    ///
    /// ```swift
    /// try cpu.scatterAddRows(gradOut, indices: ids, count: 4096, columns: 384, rows: 30522, into: gradTable)
    /// ```
    public func scatterAddRows(_ source: any BackendBuffer, indices: any BackendBuffer, count: Int, columns: Int,
                               rows: Int, into output: any BackendBuffer) throws(TensorError) {
        let op = "scatterAddRows"
        let sb = try cpuBuffer(source, op: op), ib = try cpuBuffer(indices, op: op), ob = try cpuBuffer(output, op: op)
        try require(sb, holds: count * columns, op: op, role: "source")
        try require(ib, holds: count, op: op, role: "indices")
        try require(ob, holds: rows * columns, op: op, role: "output")
        try fill(output, value: 0, count: rows * columns)
        guard count > 0, columns > 0 else { return }
        let values = UnsafePointer(sb.base), index = UnsafeRawPointer(ib.base), out = ob.base
        // Column blocks of at least 64 floats (whole cache lines) per thread, when the work is worth waking threads for.
        let blockGrain = count * columns >= Self.elementwiseGrain ? 64 : columns
        parallelFor(count: columns, threads: threads, grain: blockGrain, alignment: 16) { block in
            let width = block.count
            for n in 0..<count {
                let row = Int(index.load(fromByteOffset: n * 4, as: Int32.self))
                guard row >= 0, row < rows else { continue }
                let from = values + n * columns + block.lowerBound
                let to = out + row * columns + block.lowerBound
                for c in 0..<width { to[c] += from[c] }
            }
        }
    }
}
