extension BackendOp {
    /// A matmul on float16 / bfloat16 storage as casts to float32 temporaries, the float32
    /// product (with the same epilogue) and a cast of the result to C's type: what a backend
    /// without 16-bit kernels computes (the CPU backend, a Vulkan device without 16-bit
    /// storage). The casts are exact on the way in and round once (to nearest even) on the
    /// way out, as the 16-bit kernels do.
    static func storageComposite(
        a: any BackendBuffer, b: any BackendBuffer, c: any BackendBuffer, geometry: MatmulGeometry,
        epilogue: MatmulEpilogue, temporary: (Int) throws(TensorError) -> any BackendBuffer
    ) throws(TensorError) -> [BackendOp] {
        var ops: [BackendOp] = []
        func widened(_ buffer: any BackendBuffer, _ type: DType, count: Int) throws(TensorError) -> any BackendBuffer {
            guard type != .float32 else { return buffer }
            let wide = try temporary(count)
            ops.append(.cast(source: buffer, sourceType: type, layout: .contiguous([count]),
                             destination: wide, destinationType: .float32))
            return wide
        }
        let types = geometry.types
        let left = try widened(a, types.a, count: geometry.elementCountA)
        let right = try widened(b, types.b, count: geometry.elementCountB)
        var wide = geometry
        wide.types = .float32
        let count = geometry.batch * geometry.m * geometry.n
        let product = types.c == .float32 ? c : try temporary(count)
        ops.append(.matmul(a: left, b: right, c: product, geometry: wide, epilogue: epilogue))
        if types.c != .float32 {
            ops.append(.cast(source: product, sourceType: .float32, layout: .contiguous([count]),
                             destination: c, destinationType: types.c))
        }
        return ops
    }
}

extension BackendOp {
    /// A 16-bit operand read through `layout` as a contiguous float32 temporary (exact), or the
    /// operand and its layout as they are when float32.
    private static func widened(_ buffer: any BackendBuffer, _ layout: StridedLayout, _ type: DType,
                                into ops: inout [BackendOp],
                                temporary: (Int) throws(TensorError) -> any BackendBuffer
    ) throws(TensorError) -> (any BackendBuffer, StridedLayout) {
        guard type != .float32 else { return (buffer, layout) }
        let wide = try temporary(layout.elementCount)
        ops.append(.cast(source: buffer, sourceType: type, layout: layout, destination: wide, destinationType: .float32))
        return (wide, .contiguous(layout.shape))
    }

    /// A float32 result in a temporary, then cast to `output`'s type (rounded once), or
    /// `output` itself when it is float32.
    private static func narrowed(_ output: any BackendBuffer, _ type: DType, count: Int,
                                 temporary: (Int) throws(TensorError) -> any BackendBuffer
    ) throws(TensorError) -> (target: any BackendBuffer, finish: [BackendOp]) {
        guard type != .float32 else { return (output, []) }
        let wide = try temporary(count)
        return (wide, [.cast(source: wide, sourceType: .float32, layout: .contiguous([count]), destination: output,
                             destinationType: type)])
    }

    /// A binary op on 16-bit storage as casts around the float32 op (what a backend without
    /// 16-bit elementwise kernels computes).
    static func binaryStorageComposite(
        _ op: BinaryOp, a: any BackendBuffer, aLayout: StridedLayout, b: any BackendBuffer, bLayout: StridedLayout,
        output: any BackendBuffer, types: OperandTypes, temporary: (Int) throws(TensorError) -> any BackendBuffer
    ) throws(TensorError) -> [BackendOp] {
        var ops: [BackendOp] = []
        let (left, leftLayout) = try widened(a, aLayout, types.a, into: &ops, temporary: temporary)
        let (right, rightLayout) = try widened(b, bLayout, types.b, into: &ops, temporary: temporary)
        let (target, finish) = try narrowed(output, types.c, count: aLayout.elementCount, temporary: temporary)
        ops.append(.binary(op, a: left, aLayout: leftLayout, b: right, bLayout: rightLayout, output: target))
        return ops + finish
    }

    /// An activation on 16-bit storage as casts around the float32 activation.
    static func activateStorageComposite(
        _ activation: Activation, input: any BackendBuffer, layout: StridedLayout, output: any BackendBuffer,
        types: OperandTypes, temporary: (Int) throws(TensorError) -> any BackendBuffer
    ) throws(TensorError) -> [BackendOp] {
        try oneInputStorageComposite(input: input, layout: layout, output: output, types: types, temporary: temporary) {
            .activate(activation, input: $0, layout: $1, output: $2)
        }
    }

    /// `input * scale + offset` on 16-bit storage as casts around the float32 op.
    static func scaleShiftStorageComposite(
        input: any BackendBuffer, layout: StridedLayout, scale: Float, offset: Float, output: any BackendBuffer,
        types: OperandTypes, temporary: (Int) throws(TensorError) -> any BackendBuffer
    ) throws(TensorError) -> [BackendOp] {
        try oneInputStorageComposite(input: input, layout: layout, output: output, types: types, temporary: temporary) {
            .scaleShift(input: $0, layout: $1, scale: scale, offset: offset, output: $2)
        }
    }

    /// A unary function on 16-bit storage as casts around the float32 op.
    static func unaryStorageComposite(
        _ op: UnaryOp, input: any BackendBuffer, layout: StridedLayout, output: any BackendBuffer,
        types: OperandTypes, temporary: (Int) throws(TensorError) -> any BackendBuffer
    ) throws(TensorError) -> [BackendOp] {
        try oneInputStorageComposite(input: input, layout: layout, output: output, types: types, temporary: temporary) {
            .unary(op, input: $0, layout: $1, output: $2)
        }
    }

    /// An op of one strided input on 16-bit storage: the input widened (when 16-bit),
    /// `float32Op(source, sourceLayout, target)` and its `outputCount` results (default: one
    /// per input element) narrowed once.
    static func oneInputStorageComposite(
        input: any BackendBuffer, layout: StridedLayout, output: any BackendBuffer, outputCount: Int? = nil,
        types: OperandTypes, temporary: (Int) throws(TensorError) -> any BackendBuffer,
        _ float32Op: (any BackendBuffer, StridedLayout, any BackendBuffer) -> BackendOp
    ) throws(TensorError) -> [BackendOp] {
        var ops: [BackendOp] = []
        let (source, sourceLayout) = try widened(input, layout, types.a, into: &ops, temporary: temporary)
        let (target, finish) = try narrowed(output, types.c, count: outputCount ?? layout.elementCount,
                                            temporary: temporary)
        ops.append(float32Op(source, sourceLayout, target))
        return ops + finish
    }

    /// A sum over an axis of 16-bit storage: the [outer, axis, inner] view cast to a
    /// contiguous float32 temporary (exact), the float32 sum, and one rounding to the output's type.
    static func reduceSumStorageComposite(
        input: any BackendBuffer, layout: StridedLayout, scale: Float, output: any BackendBuffer,
        types: OperandTypes, temporary: (Int) throws(TensorError) -> any BackendBuffer
    ) throws(TensorError) -> [BackendOp] {
        let count = layout.shape.count == 3 ? layout.shape[0] * layout.shape[2] : 0
        return try oneInputStorageComposite(input: input, layout: layout, output: output, outputCount: count, types: types,
                                            temporary: temporary) {
            .reduceSum(input: $0, layout: $1, scale: scale, output: $2)
        }
    }

    /// An activation's backward on 16-bit storage (input, gradOutput, gradInput) as casts
    /// around the float32 backward.
    static func activationBackwardStorageComposite(
        _ activation: Activation, input: any BackendBuffer, gradOutput: any BackendBuffer, count: Int,
        gradInput: any BackendBuffer, types: OperandTypes, temporary: (Int) throws(TensorError) -> any BackendBuffer
    ) throws(TensorError) -> [BackendOp] {
        var ops: [BackendOp] = []
        let flat = StridedLayout.contiguous([count])
        let (source, _) = try widened(input, flat, types.a, into: &ops, temporary: temporary)
        let (gradient, _) = try widened(gradOutput, flat, types.b, into: &ops, temporary: temporary)
        let (target, finish) = try narrowed(gradInput, types.c, count: count, temporary: temporary)
        ops.append(.activationBackward(activation, input: source, gradOutput: gradient, count: count, gradInput: target))
        return ops + finish
    }
}

extension BackendOp {
    /// LayerNorm (`mean` given) or RMSNorm on 16-bit storage as casts around the float32 op:
    /// the input widened exactly, the float32 normalisation (statistics straight into `mean`
    /// and `rstd`), the output rounded once to `types.c`.
    static func normStorageComposite(
        input: any BackendBuffer, weight: (any BackendBuffer)?, bias: (any BackendBuffer)?, rows: Int, columns: Int,
        epsilon: Float, output: any BackendBuffer, mean: (any BackendBuffer)?, rstd: any BackendBuffer,
        types: OperandTypes, temporary: (Int) throws(TensorError) -> any BackendBuffer
    ) throws(TensorError) -> [BackendOp] {
        try oneInputStorageComposite(input: input, layout: .contiguous([rows, columns]), output: output, types: types,
                                     temporary: temporary) { source, _, target in
            if let mean {
                return .layerNorm(input: source, weight: weight, bias: bias, rows: rows, columns: columns,
                                  epsilon: epsilon, output: target, mean: mean, rstd: rstd)
            }
            return .rmsNorm(input: source, weight: weight, rows: rows, columns: columns, epsilon: epsilon,
                            output: target, rstd: rstd)
        }
    }

    /// (Log-)softmax on 16-bit storage as casts around the float32 op (the input read through
    /// its layout by the widening cast).
    static func softmaxStorageComposite(
        input: any BackendBuffer, layout: StridedLayout, logarithm: Bool, output: any BackendBuffer,
        types: OperandTypes, temporary: (Int) throws(TensorError) -> any BackendBuffer
    ) throws(TensorError) -> [BackendOp] {
        try oneInputStorageComposite(input: input, layout: layout, output: output, types: types, temporary: temporary) {
            .softmax(input: $0, layout: $1, logarithm: logarithm, output: $2)
        }
    }
}

extension BackendOp {
    /// Fused attention on 16-bit storage as casts around the float32 op: query, key and value
    /// widened exactly, the float32 attention (logSumExp straight into `logSumExp`), the
    /// output rounded once to `types.c`.
    static func attentionStorageComposite(
        _ g: AttentionGeometry, query: any BackendBuffer, key: any BackendBuffer, value: any BackendBuffer,
        mask: AttentionMask?, output: any BackendBuffer, logSumExp: any BackendBuffer, types: OperandTypes,
        temporary: (Int) throws(TensorError) -> any BackendBuffer
    ) throws(TensorError) -> [BackendOp] {
        var ops: [BackendOp] = []
        let bh = g.batchHeads
        let (q, _) = try widened(query, .contiguous([bh * g.queryLength * g.headDimension]), types.a, into: &ops,
                                 temporary: temporary)
        let (k, _) = try widened(key, .contiguous([bh * g.keyLength * g.headDimension]), types.b, into: &ops,
                                 temporary: temporary)
        let (v, _) = try widened(value, .contiguous([bh * g.keyLength * g.valueDimension]), types.b, into: &ops,
                                 temporary: temporary)
        let (target, finish) = try narrowed(output, types.c, count: bh * g.queryLength * g.valueDimension,
                                            temporary: temporary)
        ops.append(.attentionForward(g, query: q, key: k, value: v, mask: mask, output: target, logSumExp: logSumExp))
        return ops + finish
    }
}
