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
    /// No float atomics: zero the output; rank every position in a stable sort by index (each
    /// rank a count over all indices in chunks of 256, the partial counts added with integer
    /// atomics, whose sum does not depend on order: count^2 comparisons in all, about 17 M for
    /// 4096 tokens, over count * ceil(count / 256) invocations); place the positions in sorted
    /// order; then one invocation per (run start, column) sums its run in ascending position.
    /// Only rows that some index names are written after the zeroing, so the cost beyond it
    /// grows with the tokens, not `rows`. At most 2^20 indices (the rank phase's invocation
    /// count must fit 32 bits).
    ///
    /// ```swift
    /// try gpu.scatterAddRows(gradOut, indices: ids, count: 4096, columns: 384, rows: 30522, into: gradTable)
    /// ```
    public func scatterAddRows(_ source: any BackendBuffer, indices: any BackendBuffer, count: Int, columns: Int,
                               rows: Int, into output: any BackendBuffer) throws(TensorError) {
        let op = "scatterAddRows"
        let values = try buffer(source, op), index = try buffer(indices, op), target = try buffer(output, op)
        guard count * columns <= values.elementCount, count <= index.elementCount, rows * columns <= target.elementCount,
              count * columns < Int(UInt32.max), rows * columns < Int(UInt32.max) else {
            throw .invalidArgument(op: op, reason: "\(count) rows of \(columns) columns into \(rows) rows do not fit the buffers")
        }
        let chunks = (count + 255) / 256
        guard count * chunks < Int(UInt32.max) else {
            throw .invalidArgument(op: op, reason: "\(count) indices are more than the Vulkan sort takes (2^20)")
        }
        try fill(output, value: 0, count: rows * columns)
        guard count > 0, columns > 0 else { return }
        let scratch = try buffer(try makeBuffer(elementCount: 2 * count), op)
        try fill(scratch, value: 0, count: count)   // the ranks (0.0 is integer 0)
        // Every phase binds every buffer with the access the shader declares (validation checks
        // the module's static use, not the phase), so each phase is ordered after the last.
        let buffers: [(VulkanBuffer, Access)] = [(values, .read), (index, .read), (scratch, .readWrite), (target, .readWrite)]
        for (phase, invocations) in [(0, count * chunks), (1, count), (2, count * columns)] {
            var push = PushConstants()
            push.append(count)
            push.append(columns)
            push.append(rows)
            push.append(phase)
            try dispatch(.scatterAddRows, buffers: buffers, push: push, groups: elementwiseGroups(invocations))
        }
    }
}
