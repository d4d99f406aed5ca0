import TensorCore

/// The backend contract's dispatch: every BackendOp onto this backend's kernel for it.
extension VulkanDevice {
    /// Every op has a compute shader here; an op on float16 / bfloat16 storage (a matmul,
    /// binary, unary, scale-shift, activation, activation backward, sum, LayerNorm, RMSNorm,
    /// softmax or attention forward) only where the device has 16-bit storage buffers
    /// (elsewhere it runs as its composite: casts around the float32 op).
    public func supports(_ op: BackendOp) -> Bool {
        switch op {
        case let .matmul(_, _, _, geometry, _): return geometry.types.isFloat32 || enabledFeatures.contains(.fp16Storage)
        case let .binary(_, _, _, _, _, _, types), let .activate(_, _, _, _, types),
             let .layerNorm(_, _, _, _, _, _, _, _, _, types), let .rmsNorm(_, _, _, _, _, _, _, types),
             let .softmax(_, _, _, _, types), let .attentionForward(_, _, _, _, _, _, _, types),
             let .unary(_, _, _, _, types), let .scaleShift(_, _, _, _, _, types), let .reduceSum(_, _, _, _, types),
             let .activationBackward(_, _, _, _, _, types):
            return types.isFloat32 || enabledFeatures.contains(.fp16Storage)
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
            try binary(binaryOp, a, aLayout, b, bLayout, into: output, types: types)
        case let .unary(unaryOp, input, layout, output, types):
            try unary(unaryOp, input, layout: layout, into: output, types: types)
        case let .scaleShift(input, layout, scale, offset, output, types):
            try scaleShift(input, layout: layout, scale: scale, offset: offset, into: output, types: types)
        case let .matmul(a, b, c, geometry, epilogue):
            try matmul(a, b, into: c, geometry: geometry, epilogue: epilogue)
        case let .activate(activation, input, layout, output, types):
            try activate(activation, input, layout: layout, into: output, types: types)
        case let .activationBackward(activation, input, gradOutput, count, gradInput, types):
            try activationBackward(activation, input: input, gradOutput: gradOutput, count: count, into: gradInput,
                                   types: types)
        case let .reduceSum(input, layout, scale, output, types):
            try reduceSum(input, layout: layout, scale: scale, into: output, types: types)
        case let .softmax(input, layout, logarithm, output, types):
            try softmax(input, layout: layout, logarithm: logarithm, into: output, types: types)
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
            try layerNorm(input, weight: weight, bias: bias, rows: rows, columns: columns, epsilon: epsilon,
                          into: output, mean: mean, rstd: rstd, types: types)
        case let .layerNormBackward(input, weight, gradOutput, mean, rstd, rows, columns, gradInput, gradWeight, gradBias):
            try layerNormBackward(input, weight: weight, gradOutput: gradOutput, mean: mean, rstd: rstd, rows: rows,
                                  columns: columns, into: gradInput, gradWeight: gradWeight, gradBias: gradBias)
        case let .rmsNorm(input, weight, rows, columns, epsilon, output, rstd, types):
            try rmsNorm(input, weight: weight, rows: rows, columns: columns, epsilon: epsilon, into: output, rstd: rstd,
                        types: types)
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
            try attentionForward(geometry, query: query, key: key, value: value, mask: mask, output: output,
                                 logSumExp: logSumExp, types: types)
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
