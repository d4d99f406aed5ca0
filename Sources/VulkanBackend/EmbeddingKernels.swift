import TensorCore

extension VulkanDevice {
    /// Row gather, the embedding lookup (Shaders/gather_rows.comp; the rules of ``BackendOp/gatherRows``).
    ///
    /// ```swift
    /// try gpu.gatherRows(table, dtype: .float32, rows: 30522, columns: 384, indices: ids, count: 4096, into: out)
    /// ```
    public func gatherRows(_ table: any BackendBuffer, dtype: DType, rows: Int, columns: Int, indices: any BackendBuffer,
                           count: Int, into output: any BackendBuffer) throws(TensorError) {
        let op = "gatherRows"
        guard dtype.byteSize == 4 || dtype.byteSize == 2 else { throw .unsupportedDType(op: op, dtype: dtype) }
        let source = try buffer(table, op), index = try buffer(indices, op), target = try buffer(output, op)
        let total = count * columns, size = dtype.byteSize
        guard total > 0 else { return }
        guard (rows * columns * size + 3) / 4 <= source.elementCount, count <= index.elementCount,
              (total * size + 3) / 4 <= target.elementCount, total < Int(UInt32.max), rows * columns < Int(UInt32.max) else {
            throw .invalidArgument(op: op, reason: "\(count) indices x \(columns) columns of \(rows) rows do not fit the buffers")
        }
        var push = PushConstants()
        push.append(total)
        push.append(columns)
        push.append(rows)
        push.append(size == 2 ? 1 : 0)
        try dispatch(.gatherRows, buffers: [(source, .read), (index, .read), (target, .write)], push: push,
                     groups: elementwiseGroups(size == 2 ? (total + 1) / 2 : total))
    }

    /// Deterministic row scatter-add (Shaders/scatter_add_rows.comp; the rules of ``BackendOp/scatterAddRows``).
    ///
    /// Three dispatches, no float atomics: zero the output; sort the positions stably by
    /// index into a temporary (each position's rank counted over all indices: count^2
    /// integer comparisons, about 17 M for 4096 tokens); then one invocation per (run start,
    /// column) sums its run in ascending position. Only rows that some index names are
    /// written after the zeroing, so the cost beyond it grows with `count * columns`, not `rows`.
    ///
    /// ```swift
    /// try gpu.scatterAddRows(gradOut, indices: ids, count: 4096, columns: 384, rows: 30522, into: gradTable)
    /// ```
    public func scatterAddRows(_ source: any BackendBuffer, indices: any BackendBuffer, count: Int, columns: Int,
                               rows: Int, into output: any BackendBuffer) throws(TensorError) {
        let op = "scatterAddRows"
        let values = try buffer(source, op), index = try buffer(indices, op), target = try buffer(output, op)
        guard count * columns <= values.elementCount, count <= index.elementCount, rows * columns <= target.elementCount,
              count * columns <= Int(UInt32.max), rows * columns <= Int(UInt32.max) else {
            throw .invalidArgument(op: op, reason: "\(count) rows of \(columns) columns into \(rows) rows do not fit the buffers")
        }
        try fill(output, value: 0, count: rows * columns)
        guard count > 0, columns > 0 else { return }
        let order = try buffer(try makeBuffer(elementCount: count), op)
        var push = PushConstants()
        push.append(count)
        push.append(columns)
        push.append(rows)
        // Both phases bind every buffer with the access the shader declares (validation checks
        // the module's static use, not the phase), so the zeroing is ordered before both.
        let buffers: [(VulkanBuffer, Access)] = [(values, .read), (index, .read), (order, .readWrite), (target, .readWrite)]
        var sort = push
        sort.append(0)
        try dispatch(.scatterAddRows, buffers: buffers, push: sort, groups: elementwiseGroups(count))
        push.append(1)
        try dispatch(.scatterAddRows, buffers: buffers,
                     push: push, groups: elementwiseGroups(count * columns))
    }
}
