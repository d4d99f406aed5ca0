/// The compute shaders of the backend, one per kernel family (Shaders/*.comp).
enum Shader: Int, CaseIterable, Sendable {
    case fill, scaleShift, copyStrided, binary, activation, reduceSum, reduceSumSubgroup, matmulTiled, matmulNaive,
         matvec, unary, softmax, fewBit,
         matmulTiledPre, matmulTiledFewBit, matmulTiledFewBitPre, matmulNaivePre, matmulNaiveFewBit, matmulNaiveFewBitPre,
         matvecPre, matvecFewBit, matvecFewBitPre
    case sparseMatmul, outputSparseMatmul
    case cast, oneHot

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
        case .matmulTiledPre: return SPIRV.matmulTiledPre
        case .matmulTiledFewBit: return SPIRV.matmulTiledFewbit
        case .matmulTiledFewBitPre: return SPIRV.matmulTiledFewbitPre
        case .matmulNaivePre: return SPIRV.matmulNaivePre
        case .matmulNaiveFewBit: return SPIRV.matmulNaiveFewbit
        case .matmulNaiveFewBitPre: return SPIRV.matmulNaiveFewbitPre
        case .matvecPre: return SPIRV.matvecPre
        case .matvecFewBit: return SPIRV.matvecFewbit
        case .matvecFewBitPre: return SPIRV.matvecFewbitPre
        case .sparseMatmul: return SPIRV.sparseMatmul
        case .outputSparseMatmul: return SPIRV.outputSparseMatmul
        case .cast: return SPIRV.cast
        case .oneHot: return SPIRV.onehot
        }
    }

    /// The variant of a matmul kernel with the optional outputs it must write: the
    /// pre-activation values (binding 4) and/or the few-bit codes and borders (next two).
    func matmulVariant(preActivation: Bool, fewBit: Bool) -> Shader {
        switch (self, preActivation, fewBit) {
        case (.matmulTiled, true, false): return .matmulTiledPre
        case (.matmulTiled, false, true): return .matmulTiledFewBit
        case (.matmulTiled, true, true): return .matmulTiledFewBitPre
        case (.matmulNaive, true, false): return .matmulNaivePre
        case (.matmulNaive, false, true): return .matmulNaiveFewBit
        case (.matmulNaive, true, true): return .matmulNaiveFewBitPre
        case (.matvec, true, false): return .matvecPre
        case (.matvec, false, true): return .matvecFewBit
        case (.matvec, true, true): return .matvecFewBitPre
        default: return self
        }
    }

    /// Number of storage-buffer bindings (0..<count) the shader declares.
    var bindingCount: Int {
        switch self {
        case .fill: return 1
        case .scaleShift, .copyStrided, .reduceSum, .reduceSumSubgroup, .unary, .softmax, .cast, .oneHot: return 2
        case .binary, .activation: return 3
        case .fewBit: return 4
        case .matmulTiled, .matmulNaive, .matvec: return 4
        case .matmulTiledPre, .matmulNaivePre, .matvecPre: return 5
        case .matmulTiledFewBit, .matmulNaiveFewBit, .matvecFewBit: return 6
        case .matmulTiledFewBitPre, .matmulNaiveFewBitPre, .matvecFewBitPre: return 7
        case .sparseMatmul, .outputSparseMatmul: return 6
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
