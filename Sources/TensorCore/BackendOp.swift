/// One computation as a value: what to compute, on which buffers, with which parameters.
///
/// The frontend builds a `BackendOp` for every computation and hands it to
/// ``Backend/run(_:)``: the backend executes it when ``Backend/supports(_:)`` says so,
/// and otherwise it runs as ``composite(temporary:)``, a sequence of simpler ops. A new
/// op is a new case here, its kernels in the backends that want one, and a conformance
/// entry (docs/adding-an-op.md); a backend that does not know it still runs it as long as
/// the op has a composite.
///
/// The frontend validates every shape and argument before it builds an op, so a backend
/// may assume the operands are consistent. Buffers are `any BackendBuffer` of the
/// backend that runs the op; every output is written in full.
///
/// ```swift
/// let x = try backend.makeBuffer(elementCount: 4)
/// try backend.run(.fill(x, value: 2, count: 4))
/// try backend.run(.unary(.sqrt, input: x, layout: .contiguous([4]), output: x))
/// ```
public enum BackendOp: Sendable {
    /// Sets the first `count` elements of the buffer to `value`.
    case fill(any BackendBuffer, value: Float, count: Int)
    /// Contiguous `destination[i] = source[layout(i)]` for every index of `layout.shape`.
    case copyStrided(source: any BackendBuffer, layout: StridedLayout, destination: any BackendBuffer)
    /// `output[i] = a[aLayout(i)] op b[bLayout(i)]`; both layouts have the output's shape
    /// (broadcast axes have stride 0); `output` is contiguous. `types` are the storage types
    /// of a, b and output (float32, float16 or bfloat16; float32 arithmetic).
    case binary(BinaryOp, a: any BackendBuffer, aLayout: StridedLayout, b: any BackendBuffer,
                bLayout: StridedLayout, output: any BackendBuffer, types: OperandTypes = .float32)
    /// `output[i] = op(input[layout(i)])` for every index of `layout.shape`: the input may be
    /// any strided view (transposed, broadcast, offset); `output` is contiguous.
    /// `types.a` is the input's storage type, `types.c` the output's (`types.b` unused;
    /// float32 arithmetic, rounded once on store).
    case unary(UnaryOp, input: any BackendBuffer, layout: StridedLayout, output: any BackendBuffer,
               types: OperandTypes = .float32)
    /// `output[i] = input[layout(i)] * scale + offset` for every index of `layout.shape`: the
    /// input may be any strided view; `output` is contiguous. `types.a` is the input's
    /// storage type, `types.c` the output's (`types.b` unused; float32 arithmetic, rounded
    /// once on store).
    case scaleShift(input: any BackendBuffer, layout: StridedLayout, scale: Float, offset: Float,
                    output: any BackendBuffer, types: OperandTypes = .float32)
    /// C = op(A) op(B), then the epilogue, per ``MatmulGeometry``.
    case matmul(a: any BackendBuffer, b: any BackendBuffer, c: any BackendBuffer,
                geometry: MatmulGeometry, epilogue: MatmulEpilogue)
    /// `output[i] = f(input[layout(i)])` for every index of `layout.shape`: the input may be any
    /// strided view; `output` is contiguous.
    /// `types.a` is the input's storage type, `types.c` the output's (`types.b` unused).
    case activate(Activation, input: any BackendBuffer, layout: StridedLayout, output: any BackendBuffer,
                  types: OperandTypes = .float32)
    /// `gradInput[i] = gradOutput[i] * f'(input[i])` for `count` elements. `types` are the
    /// storage types of input (a), gradOutput (b) and gradInput (c) (float32 arithmetic).
    case activationBackward(Activation, input: any BackendBuffer, gradOutput: any BackendBuffer, count: Int,
                            gradInput: any BackendBuffer, types: OperandTypes = .float32)
    /// `output[o, j] = scale * sum_a input[layout(o, a, j)]` for a rank-3 `layout` [outer, axis,
    /// inner] with any strides (a view is read in place), written contiguously as [outer, inner].
    /// `types.a` is the input's storage type, `types.c` the output's (`types.b` unused); the
    /// sum accumulates in float32 and is rounded once on store.
    case reduceSum(input: any BackendBuffer, layout: StridedLayout, scale: Float, output: any BackendBuffer,
                   types: OperandTypes = .float32)
    /// Softmax over the last axis of `layout` (any strided view of `input`), written
    /// contiguously as [rows, columns] with columns the last extent (max-subtracted, so it
    /// never overflows); with `logarithm`, log-softmax `x - max - log(sum(exp(x - max)))`.
    /// `types.a` is the input's storage type and `types.c` the output's (float32 arithmetic,
    /// the output rounded once); 16-bit storage has a composite (casts around the float32 op).
    case softmax(input: any BackendBuffer, layout: StridedLayout, logarithm: Bool, output: any BackendBuffer,
                 types: OperandTypes = .float32)
    /// Few-bit forward: `output[i] = f(input[i])` and element i's code written to the
    /// codes of `fewBit` (see ``FewBitOutput``), in one pass.
    case activateFewBit(Activation, input: any BackendBuffer, count: Int, output: any BackendBuffer,
                        fewBit: FewBitOutput)
    /// Few-bit backward: `gradInput[i] = gradOutput[i] * table.levels[code_i]`.
    case fewBitBackward(FewBitOutput, gradOutput: any BackendBuffer, count: Int, gradInput: any BackendBuffer)
    /// Counts the inputs of `x` [rows, inner] that are not skipped (`|x| > t`): int32
    /// `counts[r]` for each row, then `counts[rows]` = the channels nonzero in any row
    /// (the union over the batch). The sparse dispatcher's density measurement.
    case sparseActiveCounts(x: any BackendBuffer, rows: Int, inner: Int, threshold: SparseThreshold,
                            counts: any BackendBuffer)
    /// Input-sparse product `y[rows, columns] = x~ * w` where x~ is `x` [rows, inner] with
    /// every `|x| <= t` set to 0 and `w` is row-major [inner, columns]: only the weight rows
    /// of nonzero inputs are read, per ``SparseMode``.
    case sparseMatmul(x: any BackendBuffer, w: any BackendBuffer, y: any BackendBuffer, rows: Int, inner: Int,
                      columns: Int, threshold: SparseThreshold, mode: SparseMode)
    /// Output-sparse product: for each of the first `activeCount` int32 indices n in
    /// `activeRows`, `y[r, n] = epilogue(x[r, :] . w[n, :])` with `w` row-major [columns, inner];
    /// every other `y[r, n]` (and its pre-activation) is 0.
    case outputSparseMatmul(x: any BackendBuffer, w: any BackendBuffer, activeRows: any BackendBuffer,
                            activeCount: Int, y: any BackendBuffer, rows: Int, inner: Int, columns: Int,
                            epilogue: MatmulEpilogue)

    /// Converts `layout`'s elements of `source` (a view in elements of `sourceType`) to
    /// `destinationType`, written contiguously: float to float rounds to nearest even
    /// (overflow to infinity, NaN stays NaN); float to integer truncates toward zero and
    /// saturates to the type's range, NaN giving 0; integer to float rounds to nearest even.
    /// With equal types it is a strided copy of any element size.
    case cast(source: any BackendBuffer, sourceType: DType, layout: StridedLayout,
              destination: any BackendBuffer, destinationType: DType)

    /// `output[r, c] = 1` where the int32 `labels[r] == c`, else 0, as float32 [rows, classes];
    /// a row labelled `ignoreIndex` is all 0, and a row whose label is outside 0..<classes
    /// (and not `ignoreIndex`) is all NaN, so a loss built on it is NaN, never silently wrong
    /// (checking labels on the host would cost a device synchronisation).
    case oneHot(labels: any BackendBuffer, rows: Int, classes: Int, ignoreIndex: Int32, output: any BackendBuffer)

    /// The input update of a delta network over `count` elements: with `d = input[i] -
    /// reference[i]`, where `!(|d| < theta)` (NaN included) `delta[i] = d`, `reference[i] =
    /// input[i]` and the int32 `transmitted[0]` grows by 1; elsewhere `delta[i] = 0`.
    /// `reference` is updated in place; `transmitted[0]` must hold the starting count (0).
    case deltaUpdate(input: any BackendBuffer, reference: any BackendBuffer, theta: Float, count: Int,
                     delta: any BackendBuffer, transmitted: any BackendBuffer)

    /// One Adam / AdamW update of `count` float32 elements in place (the formulas of
    /// ``AdamStep``): `parameter`, `firstMoment` (m) and `secondMoment` (v) are read and
    /// rewritten, `gradient` is read. Has a composite (binary and unary ops on temporaries).
    case adamUpdate(parameter: any BackendBuffer, gradient: any BackendBuffer, firstMoment: any BackendBuffer,
                    secondMoment: any BackendBuffer, count: Int, step: AdamStep)
    /// LayerNorm over the rows of the contiguous `input` [rows, columns] (PyTorch's, biased
    /// variance): `mean[r]` and `rstd[r] = 1 / sqrt(var[r] + epsilon)` per row, and
    /// `output[r, c] = (input[r, c] - mean[r]) * rstd[r] * weight[c] + bias[c]`, weight 1 and
    /// bias 0 when absent. `types.a` is the input's storage type and `types.c` the output's
    /// (float32, float16 or bfloat16; float32 arithmetic, the output rounded once); weight,
    /// bias, mean and rstd are float32. A primitive on float32 storage: every backend executes
    /// it; on 16-bit storage it has a composite (casts around the float32 op).
    case layerNorm(input: any BackendBuffer, weight: (any BackendBuffer)?, bias: (any BackendBuffer)?, rows: Int,
                   columns: Int, epsilon: Float, output: any BackendBuffer, mean: any BackendBuffer, rstd: any BackendBuffer,
                   types: OperandTypes = .float32)
    /// LayerNorm's backward from the forward's `input`, `mean` and `rstd`: with `xh = (x -
    /// mean) * rstd` and `g = gradOutput * weight`, `gradInput = rstd * (g - mean_c(g) - xh *
    /// mean_c(g * xh))`, and the column sums `gradWeight[c] = sum_r gradOutput * xh`,
    /// `gradBias[c] = sum_r gradOutput` (each written only when given; summed in an order
    /// that does not depend on threads or timing). A primitive.
    case layerNormBackward(input: any BackendBuffer, weight: (any BackendBuffer)?, gradOutput: any BackendBuffer,
                           mean: any BackendBuffer, rstd: any BackendBuffer, rows: Int, columns: Int,
                           gradInput: any BackendBuffer, gradWeight: (any BackendBuffer)?, gradBias: (any BackendBuffer)?)
    /// RMSNorm over the rows of the contiguous `input` [rows, columns]: `rstd[r] = 1 /
    /// sqrt(mean_c(input^2) + epsilon)` and `output[r, c] = input[r, c] * rstd[r] * weight[c]`
    /// (weight 1 when absent). `types` as for ``layerNorm(input:weight:bias:rows:columns:epsilon:output:mean:rstd:types:)``.
    /// A primitive on float32 storage; on 16-bit storage it has a composite.
    case rmsNorm(input: any BackendBuffer, weight: (any BackendBuffer)?, rows: Int, columns: Int, epsilon: Float,
                 output: any BackendBuffer, rstd: any BackendBuffer, types: OperandTypes = .float32)
    /// RMSNorm's backward: with `xh = x * rstd` and `g = gradOutput * weight`, `gradInput =
    /// rstd * (g - xh * mean_c(g * xh))` and `gradWeight[c] = sum_r gradOutput * xh` (when
    /// given, summed in a fixed order). A primitive.
    case rmsNormBackward(input: any BackendBuffer, weight: (any BackendBuffer)?, gradOutput: any BackendBuffer,
                         rstd: any BackendBuffer, rows: Int, columns: Int, gradInput: any BackendBuffer,
                         gradWeight: (any BackendBuffer)?)

    /// LayerNorm's (`centered`) or RMSNorm's backward from the forward's `output` y and
    /// `rstd` instead of its input (memory-sharing normalisation): `xh[r, c] = (y[r, c] -
    /// bias[c]) / weight[c]` (bias 0 and weight 1 when absent), taken as 0 where `weight[c] ==
    /// 0` (that column's xh is not recoverable from y); then, with `g = gradOutput * weight`,
    /// `gradInput = rstd * (g - mean_c(g) - xh * mean_c(g * xh))` (RMSNorm: no `mean_c(g)`)
    /// and the column sums `gradWeight[c] = sum_r gradOutput * xh`, `gradBias[c] = sum_r
    /// gradOutput` (each written only when given, in a fixed order). Where every weight is
    /// nonzero this is the exact backward up to rounding; a zero-weight column c gets
    /// `gradWeight[c] = 0` and a gradInput without its `- rstd * xh[c] * mean_c(g * xh)`
    /// term (other columns are unaffected: their sums never see it, since `g[c] = 0`).
    /// A primitive.
    case normBackwardFromOutput(output: any BackendBuffer, weight: (any BackendBuffer)?, bias: (any BackendBuffer)?,
                                gradOutput: any BackendBuffer, rstd: any BackendBuffer, rows: Int, columns: Int,
                                centered: Bool, gradInput: any BackendBuffer, gradWeight: (any BackendBuffer)?,
                                gradBias: (any BackendBuffer)?)
    /// Mesa's 8-bit storage of the contiguous float32 `input` [rows, columns] by groups along
    /// each row (``GroupQuantization`` gives the layout and the rounding): writes every word
    /// of `codes` (the int8 codes, padding bytes 0) and every float32 of `scales`. A primitive.
    case groupQuantize(GroupQuantization, input: any BackendBuffer, codes: any BackendBuffer, scales: any BackendBuffer)
    /// The inverse of ``groupQuantize(_:input:codes:scales:)``: `output[r, c] =
    /// Float(code[r, c]) * scales[r * groupsPerRow + c / groupSize]`, contiguous float32. A primitive.
    case groupDequantize(GroupQuantization, codes: any BackendBuffer, scales: any BackendBuffer, output: any BackendBuffer)

    /// `destination[destinationLayout(i)] = source[sourceLayout(i)]` for every index i of the
    /// two layouts' common shape, bit for bit, in elements of `dtype` (1, 2 or 4 bytes): a
    /// strided copy into a strided region of an existing buffer (concatenation, the gradient
    /// of a slice). Unlike the other ops it writes only the elements `destinationLayout`
    /// reaches and leaves the rest of `destination` as it was. Strides are non-negative; the
    /// destination layout reaches each element at most once (no stride 0 on an axis longer
    /// than 1), and `source` and `destination` do not overlap. A primitive: every backend
    /// executes it.
    case copyInto(source: any BackendBuffer, sourceLayout: StridedLayout, destination: any BackendBuffer,
                  destinationLayout: StridedLayout, dtype: DType)
    /// Fused scaled dot-product attention (``AttentionGeometry`` gives the shapes): for each
    /// query i, `output[i] = sum_j p_ij v_j` with `p_ij = exp(s_ij - logSumExp[i])`, `s_ij =
    /// scale * q_i . k_j + mask[b, h, i, j]` (`-inf` where causal and j > i), and `logSumExp[i]
    /// = log sum_j exp(s_ij)`, computed with a running maximum and sum so the scores are never
    /// stored. A row whose scores are all `-inf` gives output 0 and logSumExp `-inf`.
    /// `types.a` is the query's storage type, `types.b` the key's and value's, `types.c` the
    /// output's (float32, float16 or bfloat16; float32 arithmetic, the output rounded once);
    /// the mask and logSumExp are float32. A primitive on float32 storage: every backend
    /// executes it; on 16-bit storage it has a composite (casts around the float32 op).
    case attentionForward(AttentionGeometry, query: any BackendBuffer, key: any BackendBuffer, value: any BackendBuffer,
                          mask: AttentionMask?, output: any BackendBuffer, logSumExp: any BackendBuffer,
                          types: OperandTypes = .float32)
    /// The backward of ``attentionForward(_:query:key:value:mask:output:logSumExp:types:)`` from its
    /// output and logSumExp (the probabilities are recomputed per tile): with `D_i = dO_i .
    /// O_i` and `dS_ij = p_ij (dO_i . v_j - D_i)`, `gradQuery[i] = scale sum_j dS_ij k_j`,
    /// `gradKey[j] = scale sum_i dS_ij q_i`, `gradValue[j] = sum_i p_ij dO_i`, every element
    /// written (no accumulation into the outputs). A primitive: every backend executes it.
    case attentionBackward(AttentionGeometry, query: any BackendBuffer, key: any BackendBuffer, value: any BackendBuffer,
                           mask: AttentionMask?, output: any BackendBuffer, logSumExp: any BackendBuffer,
                           gradOutput: any BackendBuffer, gradQuery: any BackendBuffer, gradKey: any BackendBuffer,
                           gradValue: any BackendBuffer)
    /// Ternary select: `output[i] = condition[conditionLayout(i)] != 0 ? a[aLayout(i)] :
    /// b[bLayout(i)]` (a NaN condition is nonzero, so it picks `a`); the three float32 layouts
    /// have the output's shape (broadcast axes have stride 0); `output` is contiguous.
    /// Primitive: every backend executes it. The Vulkan kernel takes layouts of rank <= 6
    /// after coalescing (``SelectLimits/maxRank``); the frontend copies operands otherwise.
    case select(condition: any BackendBuffer, conditionLayout: StridedLayout, a: any BackendBuffer,
                aLayout: StridedLayout, b: any BackendBuffer, bLayout: StridedLayout, output: any BackendBuffer)

    /// The extreme along the middle axis of a rank-3 `layout` [outer, axis, inner] (any
    /// strides) with its position: float32 `values[o, j]` and int32 `indices[o, j]`, each
    /// written contiguously as [outer, inner]. NaN wins (the first NaN, as PyTorch's max and
    /// min propagate it), and ties pick the lowest index. The axis must not be empty.
    /// Primitive: every backend executes it.
    case reduceIndex(ReduceIndexOp, input: any BackendBuffer, layout: StridedLayout, values: any BackendBuffer,
                     indices: any BackendBuffer)

    /// The `k` best of each row of the contiguous float32 `input` [rows, columns]: float32
    /// `values` and int32 `indices`, [rows, k] contiguous, best first. The order is total:
    /// NaN ranks above +inf, equal values (-0 == +0) rank by lower index; `largest` takes the
    /// top of that order, else the bottom (so NaN comes last). `k <= columns`. Primitive:
    /// every backend executes it (the Vulkan kernel is one invocation per row, O(k * columns)).
    case topK(input: any BackendBuffer, rows: Int, columns: Int, k: Int, largest: Bool, values: any BackendBuffer,
              indices: any BackendBuffer)

    /// Inverted dropout of `count` float32 elements: element i is kept when the Philox4x32-10
    /// uniform of stream index `n = offset + i` under `seed` (``Philox4x32/dropoutUniform(seed:index:)``)
    /// is `>= probability`, and then `output[i] = input[i] * (1 / (1 - probability))` (the
    /// scale rounded once to float32 on the host); a dropped element is 0. The mask is a pure
    /// function of (seed, n): every backend draws the same one. `probability` in [0, 1].
    /// Primitive: every backend executes it.
    case dropout(input: any BackendBuffer, count: Int, probability: Float, seed: UInt64, offset: UInt64,
                 output: any BackendBuffer)

    /// Row gather (embedding lookup): `output[n, c] = table[indices[n], c]` for the first
    /// `count` int32 `indices` and every column `c < columns` of `table` [rows, columns], whose
    /// elements (and the output's) are of `dtype`: any 4- or 2-byte type (float32, int32,
    /// float16, bfloat16), copied bit for bit. A row whose index is outside 0..<rows is all
    /// zero bits (nothing is read out of bounds; the frontend throws before it builds such an
    /// op). With 2-byte elements the last word's unused half may be written (as 0). A primitive.
    case gatherRows(table: any BackendBuffer, dtype: DType, rows: Int, columns: Int, indices: any BackendBuffer, count: Int,
                    output: any BackendBuffer)
    /// Deterministic row scatter-add (the backward of ``gatherRows``): `output` [rows, columns]
    /// is written in full, `output[r, c]` = the sum of `source[n, c]` over every `n < count`
    /// with `indices[n] == r`, added in ascending `n` starting from 0 (so the result is
    /// bitwise the same on every run and every backend); rows no index names are 0, and an
    /// index outside 0..<rows is skipped. A primitive.
    case scatterAddRows(source: any BackendBuffer, indices: any BackendBuffer, count: Int, columns: Int, rows: Int,
                        output: any BackendBuffer)

    /// Linear interpolation (`torch.lerp`): `output[i] = start[startLayout(i)] +
    /// weight[weightLayout(i)] * (end[endLayout(i)] - start[startLayout(i)])` in float32, each
    /// step rounded; the three float32 layouts have the output's shape (broadcast axes have
    /// stride 0); `output` is contiguous. No backend has a kernel: it runs as its composite
    /// (a subtraction, a product and a sum), which is also its gradient.
    case lerp(start: any BackendBuffer, startLayout: StridedLayout, end: any BackendBuffer, endLayout: StridedLayout,
              weight: any BackendBuffer, weightLayout: StridedLayout, output: any BackendBuffer)

    /// Which op this is, without its operands: the conformance table's key.
    public var operation: BackendOperation {
        switch self {
        case .fill: return .fill
        case .copyStrided: return .copyStrided
        case .binary: return .binary
        case .unary: return .unary
        case .scaleShift: return .scaleShift
        case .matmul: return .matmul
        case .activate: return .activate
        case .activationBackward: return .activationBackward
        case .reduceSum: return .reduceSum
        case .softmax: return .softmax
        case .activateFewBit: return .activateFewBit
        case .fewBitBackward: return .fewBitBackward
        case .sparseActiveCounts: return .sparseActiveCounts
        case .sparseMatmul: return .sparseMatmul
        case .outputSparseMatmul: return .outputSparseMatmul
        case .cast: return .cast
        case .oneHot: return .oneHot
        case .deltaUpdate: return .deltaUpdate
        case .adamUpdate: return .adamUpdate
        case .layerNorm: return .layerNorm
        case .layerNormBackward: return .layerNormBackward
        case .rmsNorm: return .rmsNorm
        case .rmsNormBackward: return .rmsNormBackward
        case .normBackwardFromOutput: return .normBackwardFromOutput
        case .groupQuantize: return .groupQuantize
        case .groupDequantize: return .groupDequantize
        case .copyInto: return .copyInto
        case .attentionForward: return .attentionForward
        case .attentionBackward: return .attentionBackward
        case .select: return .select
        case .reduceIndex: return .reduceIndex
        case .topK: return .topK
        case .dropout: return .dropout
        case .gatherRows: return .gatherRows
        case .scatterAddRows: return .scatterAddRows
        case .lerp: return .lerp
        }
    }
}

/// The kinds of ``BackendOp``, one per case: what the conformance table is keyed by.
///
/// `ConformanceTests` fails when a kind has no conformance entry, and ``BackendOp/operation``
/// is an exhaustive switch, so a new op cannot reach the engine without an entry.
public enum BackendOperation: String, Sendable, CaseIterable {
    case fill, copyStrided, binary, unary, scaleShift, matmul, activate, activationBackward, reduceSum, softmax
    case activateFewBit, fewBitBackward
    case sparseActiveCounts, sparseMatmul, outputSparseMatmul
    case cast, oneHot, deltaUpdate
    case adamUpdate
    case layerNorm, layerNormBackward, rmsNorm, rmsNormBackward, normBackwardFromOutput
    case groupQuantize, groupDequantize
    case copyInto
    case attentionForward, attentionBackward
    case select, reduceIndex, topK, dropout
    case gatherRows, scatterAddRows
    case lerp
}
