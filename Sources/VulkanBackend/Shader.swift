/// The compute shaders of the backend, one per kernel family (Shaders/*.comp), plus the
/// subgroup variant of the row sum and the 16-bit storage variants (matrix product, binary
/// ops, activations).
///
/// The matrix-product kernels are one module each: their epilogue outputs (pre-activation
/// values, few-bit codes) are chosen by specialisation constants when a pipeline is made,
/// not by compiled variants (see Shaders/common/matmul_common.glsl).
enum Shader: Int, CaseIterable, Sendable {
    case fill, scaleShift, copyStrided, binary, activation, reduceSum, reduceSumSubgroup, matmulTiled, matmulNaive,
         matvec, unary, softmax, fewBit
    case sparseMatmul, outputSparseMatmul
    case cast, oneHot, deltaUpdate
    case adamUpdate
    case layerNorm, layerNormBackward
    case copyInto
    case attentionForward, attentionBackwardQueries, attentionBackwardKeys
    case select, reduceIndex, topK, dropout
    case gatherRows, scatterAddRows
    case groupQuantize
    /// The matrix-product kernels' 16-bit storage variants (float16 / bfloat16 operands as
    /// specialisation constants; devices with storageBuffer16BitAccess only).
    case matmulTiledStorage16, matvecStorage16
    /// The elementwise kernels' 16-bit storage variants (binary ops, activations forward).
    case binaryStorage16, activationStorage16
    /// The transformer kernels' 16-bit storage variants (LayerNorm / RMSNorm forward, softmax,
    /// attention forward).
    case layerNormStorage16, softmaxStorage16, attentionForwardStorage16
    /// The one-input elementwise kernels' and the sum's 16-bit storage variants.
    case scaleShiftStorage16, unaryStorage16, reduceSumStorage16
    /// Diagnostic: a bounded busy loop (fence-timeout tests), run by no backend op.
    case spin
    /// The subgroup matrix-vector kernel (devices with subgroup arithmetic) and split-K's
    /// reduction with the epilogue, each with its 16-bit storage variant.
    case matvecSubgroup, matvecSubgroupStorage16, matmulSplitKReduce, matmulSplitKReduceStorage16

    /// The embedded SPIR-V words.
    var code: [UInt32] {
        switch self {
        case .fill: return SPIRV.fill
        case .scaleShift: return SPIRV.scaleShift
        case .copyStrided: return SPIRV.copyStrided
        case .binary: return SPIRV.binary
        case .activation: return SPIRV.activation
        case .reduceSum: return SPIRV.reduceSum
        case .reduceSumSubgroup: return SPIRV.reduceSumSubgroup
        case .matmulTiled: return SPIRV.matmulTiled
        case .matmulNaive: return SPIRV.matmulNaive
        case .matvec: return SPIRV.matvec
        case .unary: return SPIRV.unary
        case .softmax: return SPIRV.softmax
        case .fewBit: return SPIRV.fewbit
        case .sparseMatmul: return SPIRV.sparseMatmul
        case .outputSparseMatmul: return SPIRV.outputSparseMatmul
        case .cast: return SPIRV.cast
        case .oneHot: return SPIRV.onehot
        case .deltaUpdate: return SPIRV.deltaUpdate
        case .adamUpdate: return SPIRV.adamUpdate
        case .layerNorm: return SPIRV.layerNorm
        case .layerNormBackward: return SPIRV.layerNormBackward
        case .copyInto: return SPIRV.copyInto
        case .attentionForward: return SPIRV.attentionForward
        case .attentionBackwardQueries: return SPIRV.attentionBackwardQ
        case .attentionBackwardKeys: return SPIRV.attentionBackwardKv
        case .select: return SPIRV.select
        case .reduceIndex: return SPIRV.reduceIndex
        case .topK: return SPIRV.topk
        case .dropout: return SPIRV.dropout
        case .gatherRows: return SPIRV.gatherRows
        case .scatterAddRows: return SPIRV.scatterAddRows
        case .groupQuantize: return SPIRV.groupQuantize
        case .matmulTiledStorage16: return SPIRV.matmulTiledStorage16
        case .matvecStorage16: return SPIRV.matvecStorage16
        case .binaryStorage16: return SPIRV.binaryStorage16
        case .activationStorage16: return SPIRV.activationStorage16
        case .layerNormStorage16: return SPIRV.layerNormStorage16
        case .softmaxStorage16: return SPIRV.softmaxStorage16
        case .attentionForwardStorage16: return SPIRV.attentionForwardStorage16
        case .scaleShiftStorage16: return SPIRV.scaleShiftStorage16
        case .unaryStorage16: return SPIRV.unaryStorage16
        case .reduceSumStorage16: return SPIRV.reduceSumStorage16
        case .spin: return SPIRV.spin
        case .matvecSubgroup: return SPIRV.matvecSubgroup
        case .matvecSubgroupStorage16: return SPIRV.matvecSubgroupStorage16
        case .matmulSplitKReduce: return SPIRV.matmulSplitKReduce
        case .matmulSplitKReduceStorage16: return SPIRV.matmulSplitKReduceStorage16
        }
    }

    /// Number of storage-buffer bindings (0..<count) the shader declares.
    var bindingCount: Int {
        switch self {
        case .fill, .spin: return 1
        case .scaleShift, .copyStrided, .reduceSum, .reduceSumSubgroup, .unary, .softmax, .cast, .oneHot: return 2
        case .softmaxStorage16: return 2
        case .binary, .activation, .binaryStorage16, .activationStorage16: return 3
        case .scaleShiftStorage16, .unaryStorage16, .reduceSumStorage16: return 2
        case .deltaUpdate, .adamUpdate: return 4
        case .copyInto: return 2
        case .select: return 4
        case .reduceIndex, .topK: return 3
        case .dropout: return 2
        case .gatherRows: return 3
        case .scatterAddRows: return 4
        // Input, codes and scales written, codes and scales read, output.
        case .groupQuantize: return 6
        case .fewBit: return 4
        // A, B, C, bias, pre-activation, few-bit codes, few-bit borders: all declared always.
        case .matmulTiled, .matmulNaive, .matvec, .matmulTiledStorage16, .matvecStorage16: return 7
        case .matvecSubgroup, .matvecSubgroupStorage16, .matmulSplitKReduce, .matmulSplitKReduceStorage16: return 7
        case .sparseMatmul, .outputSparseMatmul: return 6
        case .layerNorm, .layerNormStorage16: return 6
        case .layerNormBackward: return 9
        // q, k, v, mask, then the outputs (forward) or o, lse, dO and the gradients (backward).
        case .attentionForward, .attentionForwardStorage16: return 6
        case .attentionBackwardQueries: return 8
        case .attentionBackwardKeys: return 9
        }
    }
}

/// Specialisation constants of one pipeline: (constant_id, 32-bit value) pairs, held
/// inline so that building a pipeline key allocates nothing.
struct SpecConstants: Hashable, Sendable {
    private(set) var ids = SIMD16<UInt32>()
    private(set) var values = SIMD16<UInt32>()
    private(set) var count = 0

    init() {}

    init(_ pairs: KeyValuePairs<UInt32, UInt32>) {
        for (id, value) in pairs { set(id, value) }
    }

    mutating func set(_ id: UInt32, _ value: UInt32) {
        precondition(count < 16, "too many specialisation constants")
        ids[count] = id
        values[count] = value
        count += 1
    }
}

/// Push-constant words for one dispatch (at most 128 bytes), held inline.
struct PushConstants: Sendable {
    private(set) var words = SIMD32<UInt32>()
    private(set) var count = 0

    init() {}

    mutating func append(_ value: UInt32) {
        words[count] = value
        count += 1
    }

    mutating func append(_ value: Int) { append(UInt32(truncatingIfNeeded: value)) }
    mutating func append(_ value: Float) { append(value.bitPattern) }
}
