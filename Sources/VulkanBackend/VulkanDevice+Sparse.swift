import TensorCore

extension VulkanDevice {
    /// Counts the surviving inputs per row and over the batch (Shaders/sparse_matmul.comp, OP 2):
    /// one workgroup per row plus one for the union, each a shared-memory reduction.
    ///
    /// ```swift
    /// try gpu.sparseActiveCounts(x, rows: 4, inner: 4096, threshold: .scalar(0), into: counts)
    /// ```
    public func sparseActiveCounts(_ x: any BackendBuffer, rows: Int, inner: Int, threshold: SparseThreshold,
                                   into counts: any BackendBuffer) throws(TensorError) {
        let op = "sparseActiveCounts"
        let source = try buffer(x, op), target = try buffer(counts, op)
        let (thresholds, perChannel) = try sparseThresholdBinding(threshold, op)
        guard rows >= 0, inner >= 0 else { throw .invalidArgument(op: op, reason: "negative extent") }
        try dispatch(.sparseMatmul, constants: SpecConstants([0: 2, 1: 1, 2: perChannel ? 1 : 0]),
                     buffers: [(source, .read), (placeholder, .unused), (try sparseScratch(op), .write),
                               (thresholds, perChannel ? .read : .unused), (target, .write), (try sparseScratch(op), .write)],
                     push: sparsePush(rows, inner, 0, threshold), groups: (min(rows + 1, maxGroupCount.x), 1, 1))
    }

    /// Input-sparse product (Shaders/sparse_matmul.comp) in two dispatches: OP 3 compacts the
    /// surviving inputs of each block of rows once (a shared-memory prefix sum per chunk of
    /// 256 inputs) into an index list and value table; OP 0 then gathers over the list, each
    /// workgroup reading only the selected weight rows for its 64 columns (a block with an
    /// empty list writes zeros without reading weights). `.perRow` makes every row a block;
    /// `.unionOverBatch` takes rows four at a time, the union over those four; `.dense`
    /// thresholds x (OP 1) and runs the dense ``matmul(_:_:into:geometry:epilogue:)``.
    ///
    /// ```swift
    /// try gpu.sparseMatmul(x, w, into: y, rows: 1, inner: 4096, columns: 11008,
    ///                      threshold: .scalar(0), mode: .perRow)
    /// ```
    public func sparseMatmul(_ x: any BackendBuffer, _ w: any BackendBuffer, into y: any BackendBuffer,
                             rows: Int, inner: Int, columns: Int, threshold: SparseThreshold,
                             mode: SparseMode) throws(TensorError) {
        let op = "sparseMatmul"
        let source = try buffer(x, op), weights = try buffer(w, op), target = try buffer(y, op)
        let (thresholds, perChannel) = try sparseThresholdBinding(threshold, op)
        guard rows >= 0, inner >= 0, columns >= 0 else { throw .invalidArgument(op: op, reason: "negative extent") }
        guard rows > 0, columns > 0 else { return }
        if inner == 0 {
            try fill(target, value: 0, count: rows * columns)
            return
        }
        let push = sparsePush(rows, inner, columns, threshold)
        let geometry = MatmulGeometry(m: rows, n: columns, k: inner)
        switch mode {
        case .dense:
            if threshold.isExactZero {
                try matmul(source, weights, into: target, geometry: geometry, epilogue: .none)
                return
            }
            let cleaned = try buffer(makeBuffer(elementCount: rows * inner), op)
            try dispatch(.sparseMatmul, constants: SpecConstants([0: 1, 1: 1, 2: perChannel ? 1 : 0]),
                         buffers: [(source, .read), (placeholder, .unused), (cleaned, .write),
                                   (thresholds, perChannel ? .read : .unused), (try sparseScratch(op), .write),
                                   (try sparseScratch(op), .write)],
                         push: push, groups: elementwiseGroups(rows * inner))
            try matmul(cleaned, weights, into: target, geometry: geometry, epilogue: .none)
        case .perRow, .unionOverBatch:
            // Pass 1 compacts each block's survivors once; pass 2 gathers over them.
            let blockRows = mode == .perRow ? 1 : 4
            let blocks = (rows + blockRows - 1) / blockRows
            let list = try buffer(makeBuffer(elementCount: blocks * (inner + 1)), op)
            let values = try buffer(makeBuffer(elementCount: rows * inner), op)
            let constants: (UInt32) -> SpecConstants = { kernel in
                SpecConstants([0: kernel, 1: UInt32(blockRows), 2: perChannel ? 1 : 0])
            }
            try dispatch(.sparseMatmul, constants: constants(3),
                         buffers: [(source, .read), (placeholder, .unused), (try sparseScratch(op), .write),
                                   (thresholds, perChannel ? .read : .unused), (list, .write), (values, .write)],
                         push: push, groups: (min(blocks, maxGroupCount.x), 1, 1))
            try dispatch(.sparseMatmul, constants: constants(0),
                         buffers: [(placeholder, .unused), (weights, .read), (target, .write),
                                   (placeholder, .unused), (list, .readWrite), (values, .readWrite)],
                         push: push, groups: ((columns + 63) / 64, min(blocks, maxGroupCount.y), 1))
        }
    }

    /// Output-sparse product (Shaders/output_sparse_matmul.comp): the output is zeroed, then
    /// one workgroup per listed output computes its dot products with the bias and activation.
    ///
    /// ```swift
    /// try gpu.outputSparseMatmul(x, w, activeRows: active, activeCount: 1200, into: y,
    ///                            rows: 1, inner: 4096, columns: 11008, epilogue: .none)
    /// ```
    public func outputSparseMatmul(_ x: any BackendBuffer, _ w: any BackendBuffer, activeRows: any BackendBuffer,
                                   activeCount: Int, into y: any BackendBuffer, rows: Int, inner: Int, columns: Int,
                                   epilogue: MatmulEpilogue) throws(TensorError) {
        let op = "outputSparseMatmul"
        let source = try buffer(x, op), weights = try buffer(w, op), target = try buffer(y, op)
        let list = try buffer(activeRows, op)
        guard epilogue.fewBit == nil else {
            throw .invalidArgument(op: op, reason: "few-bit codes are not produced by the output-sparse product")
        }
        let bias = try epilogue.bias.map { buffer throws(TensorError) in try self.buffer(buffer, op) }
        let pre = try epilogue.preActivation.map { buffer throws(TensorError) in try self.buffer(buffer, op) }
        guard rows >= 0, inner >= 0, columns >= 0, activeCount >= 0 else {
            throw .invalidArgument(op: op, reason: "negative extent or count")
        }
        guard rows > 0, columns > 0 else { return }
        try fill(target, value: 0, count: rows * columns)
        if let pre { try fill(pre, value: 0, count: rows * columns) }
        guard activeCount > 0 else { return }
        var push = PushConstants()
        push.append(rows)
        push.append(inner)
        push.append(columns)
        push.append(activeCount)
        push.append(epilogue.activation.parameter)
        var constants = SpecConstants()
        constants.set(18, bias == nil ? 0 : 1)
        constants.set(19, UInt32(bitPattern: epilogue.activation.kernelCode))
        constants.set(20, pre == nil ? 0 : 1)
        try dispatch(.outputSparseMatmul, constants: constants,
                     buffers: [(source, .read), (weights, .read), (target, .write),
                               bias.map { ($0, .read) } ?? (placeholder, .unused),
                               // HAS_PRE off: the slot is still statically written, so it holds
                               // the output this dispatch writes anyway (as in `matmul`), not a
                               // shared placeholder that synchronization validation would see written.
                               pre.map { ($0, .write) } ?? (target, .unused), (list, .read)],
                     push: push, groups: (min(activeCount, maxGroupCount.x), 1, 1))
    }

    /// A fresh 4-element buffer for a descriptor slot the shader declares writable but this
    /// dispatch does not use: the shared placeholder must never sit in a writable slot, or
    /// synchronization validation sees a write to it that a later read races with.
    private func sparseScratch(_ op: String) throws(TensorError) -> VulkanBuffer {
        try buffer(makeBuffer(elementCount: 4), op)
    }

    /// The per-channel threshold buffer (or the placeholder) and whether there is one.
    private func sparseThresholdBinding(_ threshold: SparseThreshold,
                                        _ op: String) throws(TensorError) -> (VulkanBuffer, Bool) {
        switch threshold {
        case .scalar: return (placeholder, false)
        case let .perChannel(values): return (try buffer(values, op), true)
        }
    }

    private func sparsePush(_ rows: Int, _ inner: Int, _ columns: Int, _ threshold: SparseThreshold) -> PushConstants {
        var push = PushConstants()
        push.append(rows)
        push.append(inner)
        push.append(columns)
        if case let .scalar(t) = threshold { push.append(t) } else { push.append(Float(0)) }
        return push
    }
}
