/// The geometry of a (batched) matrix product C[b] = op(A[b]) * op(B[b]).
///
/// A is stored row-major as [m, k] per batch, or [k, m] when `transposeA`;
/// B as [k, n], or [n, k] when `transposeB`. C is contiguous [batch, m, n].
/// A batch stride of 0 reuses the same matrix for every batch (broadcast weights).
/// `types` says what A, B and C hold in memory (float32 by default; float16 or bfloat16
/// storage is read and written as such, with float32 arithmetic and accumulation).
public struct MatmulGeometry: Sendable, Equatable {
    public var m: Int
    public var n: Int
    public var k: Int
    public var batch: Int
    public var transposeA: Bool
    public var transposeB: Bool
    public var batchStrideA: Int
    public var batchStrideB: Int
    /// The storage types of A, B and C.
    public var types: OperandTypes

    public init(m: Int, n: Int, k: Int, batch: Int = 1,
                transposeA: Bool = false, transposeB: Bool = false,
                batchStrideA: Int? = nil, batchStrideB: Int? = nil, types: OperandTypes = .float32) {
        self.m = m
        self.n = n
        self.k = k
        self.batch = batch
        self.transposeA = transposeA
        self.transposeB = transposeB
        self.batchStrideA = batchStrideA ?? m * k
        self.batchStrideB = batchStrideB ?? k * n
        self.types = types
    }

    /// Elements of A the product reads: one matrix, or `batch` of them `batchStrideA` apart.
    public var elementCountA: Int { batchStrideA == 0 || batch == 0 ? m * k : (batch - 1) * batchStrideA + m * k }
    /// Elements of B the product reads.
    public var elementCountB: Int { batchStrideB == 0 || batch == 0 ? k * n : (batch - 1) * batchStrideB + k * n }

    /// Row stride (leading dimension) of A as stored.
    public var leadingDimensionA: Int { transposeA ? m : k }
    /// Row stride (leading dimension) of B as stored.
    public var leadingDimensionB: Int { transposeB ? k : n }
    /// 2 m n k per batch.
    public var flops: Double { 2 * Double(m) * Double(n) * Double(k) * Double(batch) }
}

/// What happens to each output element of a matrix product before it is stored:
/// `y = activation(acc + bias[column])`, optionally keeping `acc + bias` too.
public struct MatmulEpilogue: Sendable {
    /// Per-column bias of n elements, or nil.
    public var bias: (any BackendBuffer)?
    public var activation: Activation
    /// When set, receives the pre-activation value `acc + bias` (what an exact backward keeps).
    public var preActivation: (any BackendBuffer)?
    /// When set, receives the few-bit code of each pre-activation value (what a few-bit backward keeps).
    public var fewBit: FewBitOutput?

    public init(bias: (any BackendBuffer)? = nil, activation: Activation = .identity,
                preActivation: (any BackendBuffer)? = nil, fewBit: FewBitOutput? = nil) {
        self.bias = bias
        self.activation = activation
        self.preActivation = preActivation
        self.fewBit = fewBit
    }

    /// No bias, identity activation: a plain product.
    public static let none = MatmulEpilogue()

    public var isNone: Bool { bias == nil && activation == .identity && preActivation == nil && fewBit == nil }
}

/// Where a few-bit forward writes its codes: element i's code (the number of
/// `table.borders` strictly below its input) occupies bits [i*b, (i+1)*b) of the
/// LSB-first word stream `codes` (``FewBitCodes/packedWordCount(count:bits:)`` words).
public struct FewBitOutput: Sendable {
    public var codes: any BackendBuffer
    public var table: FewBitTable

    public init(codes: any BackendBuffer, table: FewBitTable) {
        self.codes = codes
        self.table = table
    }
}
