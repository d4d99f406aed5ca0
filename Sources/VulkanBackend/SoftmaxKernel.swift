import TensorCore

extension VulkanDevice {
    /// Row-wise (log-)softmax (Shaders/softmax.comp): one 256-lane workgroup per row, or
    /// one invocation per row when rows are at most ``narrowRowLimit`` wide.
    public func softmax(_ input: any BackendBuffer, rows: Int, columns: Int, logarithm: Bool,
                        into output: any BackendBuffer) throws(TensorError) {
        try softmax(input, layout: .contiguous([rows, columns]), logarithm: logarithm, into: output)
    }

    /// (Log-)softmax over the last axis of any strided view of `input`, read in place.
    ///
    /// A float16 / bfloat16 input or output (`types.a`, `types.c`) runs the 16-bit storage
    /// variant (float32 arithmetic, the output rounded once to nearest even; the device needs
    /// 16-bit storage buffers).
    ///
    /// ```swift
    /// try gpu.softmax(m, layout: StridedLayout(shape: [3, 4], strides: [1, 3]), logarithm: false, into: t)
    /// ```
    public func softmax(_ input: any BackendBuffer, layout: StridedLayout, logarithm: Bool,
                        into output: any BackendBuffer, types: OperandTypes = .float32) throws(TensorError) {
        let types = OperandTypes(a: types.a, c: types.c)   // types.b (unused) stays float32
        try requireStorage16(types, op: "softmax")
        let source = try buffer(input, "softmax")
        let target = try buffer(output, "softmax")
        try requireInside(layout, of: source, op: "softmax", dtype: types.a)
        let (rowLayout, columns, columnStride) = layout.rowsAndColumns
        let rows = rowLayout.elementCount
        guard rows > 0, columns > 0 else { return }
        let capacity = target.byteCount / types.c.byteSize
        guard layout.elementCount <= capacity else {
            throw .invalidArgument(op: "softmax", reason: "output holds \(capacity) elements, \(layout.elementCount) needed")
        }
        let merged = rowLayout.coalesced()
        // Rank 0 when rows follow each other `columns` apart (a contiguous matrix).
        let regular = merged.shape.isEmpty || (merged.shape.count == 1 && merged.strides[0] == columns)
        guard regular || merged.shape.count <= StridedLayout.maxRank else {
            throw .invalidArgument(op: "softmax", reason: "row layout of rank \(merged.shape.count) after merging; "
                                   + "at most \(StridedLayout.maxRank)")
        }
        var push = PushConstants()
        push.append(rows)
        push.append(columns)
        push.append(columnStride)
        let rank = regular ? 0 : merged.shape.count
        push.append(rank)
        push.append(layout.offset)
        for axis in 0..<StridedLayout.maxRank { push.append(axis < rank ? merged.shape[axis] : 1) }
        for axis in 0..<StridedLayout.maxRank { push.append(axis < rank ? merged.strides[axis] : 0) }
        let narrow = columns <= Self.narrowRowLimit
        let groups = narrow ? (rows + 255) / 256 : rows
        var constants = SpecConstants([0: logarithm ? 1 : 0, 1: narrow ? 1 : 0])
        if !types.isFloat32 { constants.set(2, types.kernelCode) }
        try dispatch(types.isFloat32 ? .softmax : .softmaxStorage16, constants: constants,
                     buffers: [(source, .read), (target, .write)], push: push,
                     groups: (min(groups, maxGroupCount.x), 1, 1))
    }

    /// Rows up to this many columns take one invocation each (no shared-memory barriers).
    static let narrowRowLimit = 128
}
