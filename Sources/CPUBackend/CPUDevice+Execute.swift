import TensorCore

/// The backend contract's dispatch: every BackendOp onto this backend's kernel for it.
extension CPUDevice {
    /// Every op has a CPU kernel (AVX-512/AVX2 C loops where the CPU has them, portable Swift
    /// otherwise) but the ops on float16 / bfloat16 storage (a matmul, binary, unary,
    /// scale-shift, activation and its backward, a sum, LayerNorm, RMSNorm, softmax, attention
    /// forward), which run as their composites (casts to float32 around the float32 kernel).
    public func supports(_ op: BackendOp) -> Bool {
        switch op {
        case let .matmul(_, _, _, geometry, _): return geometry.types.isFloat32
        case let .binary(_, _, _, _, _, _, types), let .activate(_, _, _, _, types): return types.isFloat32
        case let .unary(_, _, _, _, types), let .scaleShift(_, _, _, _, _, types), let .reduceSum(_, _, _, _, types),
             let .activationBackward(_, _, _, _, _, types):
            return types.isFloat32
        case let .layerNorm(_, _, _, _, _, _, _, _, _, types), let .rmsNorm(_, _, _, _, _, _, _, types),
             let .softmax(_, _, _, _, types), let .attentionForward(_, _, _, _, _, _, _, types):
            return types.isFloat32
        case .lerp: return false   // runs as its composite
        default: return true
        }
    }

    /// Runs `op` on this backend's kernel for it (the per-op methods, public for the backend's own tests).
    public func execute(_ op: BackendOp) throws(TensorError) {
        switch op {
        case let .fill(buffer, value, count):
            try fill(buffer, value: value, count: count)
        case let .copyStrided(source, layout, destination):
            try copyStrided(from: source, layout: layout, to: destination)
        case let .binary(binaryOp, a, aLayout, b, bLayout, output, types):
            try requireFloat32(types, op: "binary")
            try binary(binaryOp, a, aLayout, b, bLayout, into: output)
        case let .unary(unaryOp, input, layout, output, types):
            try requireFloat32(types, op: "unary")
            try unary(unaryOp, input, layout: layout, into: output)
        case let .scaleShift(input, layout, scale, offset, output, types):
            try requireFloat32(types, op: "scaleShift")
            try scaleShift(input, layout: layout, scale: scale, offset: offset, into: output)
        case let .matmul(a, b, c, geometry, epilogue):
            try matmul(a, b, into: c, geometry: geometry, epilogue: epilogue)
        case let .activate(activation, input, layout, output, types):
            try requireFloat32(types, op: "activate")
            try activate(activation, input, layout: layout, into: output)
        case let .activationBackward(activation, input, gradOutput, count, gradInput, types):
            try requireFloat32(types, op: "activationBackward")
            try activationBackward(activation, input: input, gradOutput: gradOutput, count: count, into: gradInput)
        case let .reduceSum(input, layout, scale, output, types):
            try requireFloat32(types, op: "reduceSum")
            try reduceSum(input, layout: layout, scale: scale, into: output)
        case let .softmax(input, layout, logarithm, output, types):
            try requireFloat32(types, op: "softmax")
            try softmax(input, layout: layout, logarithm: logarithm, into: output)
        case let .activateFewBit(activation, input, count, output, fewBit):
            try activateFewBit(activation, input, count: count, into: output, fewBit: fewBit)
        case let .fewBitBackward(fewBit, gradOutput, count, gradInput):
            try fewBitBackward(fewBit, gradOutput: gradOutput, count: count, into: gradInput)
        case let .sparseActiveCounts(x, rows, inner, threshold, counts):
            try sparseActiveCounts(x, rows: rows, inner: inner, threshold: threshold, into: counts)
        case let .sparseMatmul(x, w, y, rows, inner, columns, threshold, mode):
            try sparseMatmul(x, w, into: y, rows: rows, inner: inner, columns: columns, threshold: threshold, mode: mode)
        case let .outputSparseMatmul(x, w, activeRows, activeCount, y, rows, inner, columns, epilogue):
            try outputSparseMatmul(x, w, activeRows: activeRows, activeCount: activeCount, into: y, rows: rows,
                                   inner: inner, columns: columns, epilogue: epilogue)
        case let .cast(source, sourceType, layout, destination, destinationType):
            try cast(source, from: sourceType, layout: layout, to: destination, as: destinationType)
        case let .oneHot(labels, rows, classes, ignoreIndex, output):
            try oneHot(labels, rows: rows, classes: classes, ignoreIndex: ignoreIndex, into: output)
        case let .deltaUpdate(input, reference, theta, count, delta, transmitted):
            try deltaUpdate(input, reference: reference, theta: theta, count: count, delta: delta, transmitted: transmitted)
        case let .adamUpdate(parameter, gradient, firstMoment, secondMoment, count, step):
            try adamUpdate(parameter, gradient: gradient, firstMoment: firstMoment, secondMoment: secondMoment,
                           count: count, step: step)
        case let .layerNorm(input, weight, bias, rows, columns, epsilon, output, mean, rstd, types):
            try requireFloat32(types, op: "layerNorm")
            try layerNorm(input, weight: weight, bias: bias, rows: rows, columns: columns, epsilon: epsilon,
                          into: output, mean: mean, rstd: rstd)
        case let .layerNormBackward(input, weight, gradOutput, mean, rstd, rows, columns, gradInput, gradWeight, gradBias):
            try layerNormBackward(input, weight: weight, gradOutput: gradOutput, mean: mean, rstd: rstd, rows: rows,
                                  columns: columns, into: gradInput, gradWeight: gradWeight, gradBias: gradBias)
        case let .rmsNorm(input, weight, rows, columns, epsilon, output, rstd, types):
            try requireFloat32(types, op: "rmsNorm")
            try rmsNorm(input, weight: weight, rows: rows, columns: columns, epsilon: epsilon, into: output, rstd: rstd)
        case let .rmsNormBackward(input, weight, gradOutput, rstd, rows, columns, gradInput, gradWeight):
            try rmsNormBackward(input, weight: weight, gradOutput: gradOutput, rstd: rstd, rows: rows, columns: columns,
                                into: gradInput, gradWeight: gradWeight)
        case let .normBackwardFromOutput(output, weight, bias, gradOutput, rstd, rows, columns, centered, gradInput,
                                         gradWeight, gradBias):
            try normBackwardFromOutput(output, weight: weight, bias: bias, gradOutput: gradOutput, rstd: rstd, rows: rows,
                                       columns: columns, centered: centered, into: gradInput, gradWeight: gradWeight,
                                       gradBias: gradBias)
        case let .groupQuantize(layout, input, codes, scales):
            try groupQuantize(input, layout: layout, codes: codes, scales: scales)
        case let .groupDequantize(layout, codes, scales, output):
            try groupDequantize(codes: codes, scales: scales, layout: layout, into: output)
        case let .copyInto(source, sourceLayout, destination, destinationLayout, dtype):
            try copyInto(source, layout: sourceLayout, to: destination, layout: destinationLayout, dtype: dtype)
        case let .attentionForward(geometry, query, key, value, mask, output, logSumExp, types):
            try requireFloat32(types, op: "attentionForward")
            try attentionForward(geometry, query: query, key: key, value: value, mask: mask, output: output,
                                 logSumExp: logSumExp)
        case let .attentionBackward(geometry, query, key, value, mask, output, logSumExp, gradOutput, gradQuery,
                                    gradKey, gradValue):
            try attentionBackward(geometry, query: query, key: key, value: value, mask: mask, output: output,
                                  logSumExp: logSumExp, gradOutput: gradOutput, gradQuery: gradQuery, gradKey: gradKey,
                                  gradValue: gradValue)
        case let .select(condition, conditionLayout, a, aLayout, b, bLayout, output):
            try select(condition, conditionLayout, a, aLayout, b, bLayout, into: output)
        case let .reduceIndex(kind, input, layout, values, indices):
            try reduceIndex(kind, input, layout: layout, values: values, indices: indices)
        case let .topK(input, rows, columns, k, largest, values, indices):
            try topK(input, rows: rows, columns: columns, k: k, largest: largest, values: values, indices: indices)
        case let .dropout(input, count, probability, seed, offset, output):
            try dropout(input, count: count, probability: probability, seed: seed, offset: offset, into: output)
        case let .gatherRows(table, dtype, rows, columns, indices, count, output):
            try gatherRows(table, dtype: dtype, rows: rows, columns: columns, indices: indices, count: count, into: output)
        case let .scatterAddRows(source, indices, count, columns, rows, output):
            try scatterAddRows(source, indices: indices, count: count, columns: columns, rows: rows, into: output)
        case .lerp:
            throw .unsupportedOperation(op: "lerp", backend: name, reason: "no kernel: it runs as its composite")
        }
    }
}

extension CPUDevice {
    /// Throws unless every operand is float32: the CPU kernels read and write float32 only
    /// (16-bit storage runs as the op's composite, which ``Backend/run(_:)`` picks).
    func requireFloat32(_ types: OperandTypes, op: String) throws(TensorError) {
        guard types.isFloat32 else {
            throw .unsupportedOperation(op: op, backend: name, reason: "\(types) storage runs as the op's composite here")
        }
    }
}
