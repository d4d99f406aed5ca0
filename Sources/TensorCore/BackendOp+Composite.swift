/// Composites: each fused op as a sequence of simpler ops, run by ``Backend/run(_:)`` on a
/// backend without a kernel for it. The conformance table runs every composite against the
/// same float64 reference as the kernel (`ConformanceTable.compositeCases`), so a composite
/// is a second, independent implementation of the op's definition.
extension BackendOp {
    /// This op as simpler ops, or nil for a primitive (an op every backend must execute).
    /// `temporary` makes scratch buffers of a given element count; they live as long as the
    /// returned ops (backends keep queued work's buffers alive until it completes).
    ///
    /// ```swift
    /// let parts = try op.composite { count in try backend.makeBuffer(elementCount: count) }
    /// ```
    public func composite(
        temporary: (Int) throws(TensorError) -> any BackendBuffer
    ) throws(TensorError) -> [BackendOp]? {
        switch self {
        case let .scaleShift(input, layout, scale, offset, output, types) where !types.isFloat32:
            return try Self.scaleShiftStorageComposite(input: input, layout: layout, scale: scale, offset: offset,
                                                       output: output, types: types, temporary: temporary)
        case let .unary(op, input, layout, output, types) where !types.isFloat32:
            return try Self.unaryStorageComposite(op, input: input, layout: layout, output: output, types: types,
                                                  temporary: temporary)
        case let .reduceSum(input, layout, scale, output, types) where !types.isFloat32:
            return try Self.reduceSumStorageComposite(input: input, layout: layout, scale: scale, output: output,
                                                      types: types, temporary: temporary)
        case let .activationBackward(activation, input, gradOutput, count, gradInput, types) where !types.isFloat32:
            return try Self.activationBackwardStorageComposite(activation, input: input, gradOutput: gradOutput,
                                                               count: count, gradInput: gradInput, types: types,
                                                               temporary: temporary)
        case let .scaleShift(input, layout, scale, offset, output, _):
            return try Self.scaleShiftComposite(input: input, layout: layout, scale: scale, offset: offset,
                                                output: output, temporary: temporary)
        case let .binary(op, a, aLayout, b, bLayout, output, types) where !types.isFloat32:
            return try Self.binaryStorageComposite(op, a: a, aLayout: aLayout, b: b, bLayout: bLayout, output: output,
                                                   types: types, temporary: temporary)
        case let .activate(activation, input, layout, output, types) where !types.isFloat32:
            return try Self.activateStorageComposite(activation, input: input, layout: layout, output: output,
                                                     types: types, temporary: temporary)
        case let .layerNorm(input, weight, bias, rows, columns, epsilon, output, mean, rstd, types) where !types.isFloat32:
            return try Self.normStorageComposite(input: input, weight: weight, bias: bias, rows: rows, columns: columns,
                                                 epsilon: epsilon, output: output, mean: mean, rstd: rstd, types: types,
                                                 temporary: temporary)
        case let .rmsNorm(input, weight, rows, columns, epsilon, output, rstd, types) where !types.isFloat32:
            return try Self.normStorageComposite(input: input, weight: weight, bias: nil, rows: rows, columns: columns,
                                                 epsilon: epsilon, output: output, mean: nil, rstd: rstd, types: types,
                                                 temporary: temporary)
        case let .softmax(input, layout, logarithm, output, types) where !types.isFloat32:
            return try Self.softmaxStorageComposite(input: input, layout: layout, logarithm: logarithm, output: output,
                                                    types: types, temporary: temporary)
        case let .attentionForward(geometry, query, key, value, mask, output, logSumExp, types) where !types.isFloat32:
            return try Self.attentionStorageComposite(geometry, query: query, key: key, value: value, mask: mask,
                                                      output: output, logSumExp: logSumExp, types: types,
                                                      temporary: temporary)
        case let .matmul(a, b, c, geometry, epilogue) where !geometry.types.isFloat32:
            return try Self.storageComposite(a: a, b: b, c: c, geometry: geometry, epilogue: epilogue,
                                             temporary: temporary)
        case let .matmul(a, b, c, geometry, epilogue) where !epilogue.isNone:
            return try Self.epilogueComposite(a: a, b: b, c: c, geometry: geometry, epilogue: epilogue,
                                              temporary: temporary)
        case let .adamUpdate(parameter, gradient, firstMoment, secondMoment, count, step):
            return try Self.adamComposite(parameter: parameter, gradient: gradient, firstMoment: firstMoment,
                                          secondMoment: secondMoment, count: count, step: step, temporary: temporary)
        case let .lerp(start, startLayout, end, endLayout, weight, weightLayout, output):
            return try Self.lerpComposite(start: start, startLayout: startLayout, end: end, endLayout: endLayout,
                                          weight: weight, weightLayout: weightLayout, output: output, temporary: temporary)
        default:
            return nil
        }
    }

    /// `input * scale + offset` as two broadcast binary ops on one-element buffers (the first
    /// reads the strided view).
    private static func scaleShiftComposite(
        input: any BackendBuffer, layout: StridedLayout, scale: Float, offset: Float, output: any BackendBuffer,
        temporary: (Int) throws(TensorError) -> any BackendBuffer
    ) throws(TensorError) -> [BackendOp] {
        let count = layout.elementCount
        let scaleBuffer = try temporary(1)
        let offsetBuffer = try temporary(1)
        let scaled = try temporary(count)
        let flat = StridedLayout.contiguous(layout.shape)
        let broadcast = StridedLayout(shape: layout.shape, strides: layout.shape.map { _ in 0 })
        return [
            .fill(scaleBuffer, value: scale, count: 1),
            .fill(offsetBuffer, value: offset, count: 1),
            .binary(.mul, a: input, aLayout: layout, b: scaleBuffer, bLayout: broadcast, output: scaled),
            .binary(.add, a: scaled, aLayout: flat, b: offsetBuffer, bLayout: broadcast, output: output),
        ]
    }

    /// A fused matmul epilogue as the plain product, a broadcast bias add, a copy of the
    /// pre-activation where one is asked for, and the (few-bit) activation.
    private static func epilogueComposite(
        a: any BackendBuffer, b: any BackendBuffer, c: any BackendBuffer, geometry: MatmulGeometry,
        epilogue: MatmulEpilogue, temporary: (Int) throws(TensorError) -> any BackendBuffer
    ) throws(TensorError) -> [BackendOp] {
        let rows = geometry.batch * geometry.m
        let count = rows * geometry.n
        let matrix = StridedLayout(shape: [rows, geometry.n], strides: [geometry.n, 1])
        var ops: [BackendOp] = []
        let product = try temporary(count)
        ops.append(.matmul(a: a, b: b, c: product, geometry: geometry, epilogue: .none))
        var preActivation = product
        if let bias = epilogue.bias {
            if let requested = epilogue.preActivation {
                preActivation = requested
            } else {
                preActivation = try temporary(count)
            }
            ops.append(.binary(.add, a: product, aLayout: matrix, b: bias,
                               bLayout: StridedLayout(shape: [rows, geometry.n], strides: [0, 1]),
                               output: preActivation))
        } else if let requested = epilogue.preActivation {
            ops.append(.copyStrided(source: product, layout: matrix, destination: requested))
            preActivation = requested
        }
        if let fewBit = epilogue.fewBit {
            ops.append(.activateFewBit(epilogue.activation, input: preActivation, count: count, output: c,
                                       fewBit: fewBit))
        } else {
            ops.append(.activate(epilogue.activation, input: preActivation, layout: .contiguous([count]), output: c))
        }
        return ops
    }
}
