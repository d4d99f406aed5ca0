import Foundation

/// Storage owned by a backend: a run of 4-byte elements on one device.
///
/// The frontend holds buffers through ``Tensor``; the storage is released when the
/// last reference goes.
public protocol BackendBuffer: AnyObject, Sendable {
    /// Capacity in 4-byte elements (float32 or int32).
    var elementCount: Int { get }
}

/// What kind of device a backend drives.
public enum DeviceKind: String, Sendable, Equatable, CustomStringConvertible {
    case cpu
    case vulkan
    public var description: String { rawValue }
}

/// The four elementwise binary operations, with NumPy broadcasting.
public enum BinaryOp: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case add = 0, sub = 1, mul = 2, div = 3

    public var description: String {
        switch self {
        case .add: return "add"
        case .sub: return "sub"
        case .mul: return "mul"
        case .div: return "div"
        }
    }

    /// The float64 reference.
    public func apply(_ a: Double, _ b: Double) -> Double {
        switch self {
        case .add: return a + b
        case .sub: return a - b
        case .mul: return a * b
        case .div: return a / b
        }
    }
}

/// Elementwise math functions outside the activation family.
public enum UnaryOp: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case exp = 0, log = 1, sqrt = 2, abs = 3

    public var description: String {
        switch self {
        case .exp: return "exp"
        case .log: return "log"
        case .sqrt: return "sqrt"
        case .abs: return "abs"
        }
    }

    /// The float64 reference.
    public func apply(_ x: Double) -> Double {
        switch self {
        case .exp: return Foundation.exp(x)
        case .log: return Foundation.log(x)
        case .sqrt: return x.squareRoot()
        case .abs: return Swift.abs(x)
        }
    }
}

/// The geometry of a (batched) matrix product C[b] = op(A[b]) * op(B[b]).
///
/// A is stored row-major as [m, k] per batch, or [k, m] when `transposeA`;
/// B as [k, n], or [n, k] when `transposeB`. C is contiguous [batch, m, n].
/// A batch stride of 0 reuses the same matrix for every batch (broadcast weights).
public struct MatmulGeometry: Sendable, Equatable {
    public var m: Int
    public var n: Int
    public var k: Int
    public var batch: Int
    public var transposeA: Bool
    public var transposeB: Bool
    public var batchStrideA: Int
    public var batchStrideB: Int

    public init(m: Int, n: Int, k: Int, batch: Int = 1,
                transposeA: Bool = false, transposeB: Bool = false,
                batchStrideA: Int? = nil, batchStrideB: Int? = nil) {
        self.m = m
        self.n = n
        self.k = k
        self.batch = batch
        self.transposeA = transposeA
        self.transposeB = transposeB
        self.batchStrideA = batchStrideA ?? m * k
        self.batchStrideB = batchStrideB ?? k * n
    }

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

/// One compute backend. The frontend validates every shape and argument before it
/// calls a backend, so a backend may assume its inputs are consistent; it still
/// throws on device failures (out of memory, device lost).
///
/// Calls may be asynchronous: a backend may queue work and only complete it at
/// ``read(_:into:)`` or ``synchronize()``, which surface any deferred failure.
public protocol Backend: AnyObject, Sendable {
    /// Short device name ("CPU (OpenBLAS)", "NVIDIA H100", "llvmpipe").
    var name: String { get }
    var kind: DeviceKind { get }
    /// A one-line description: device, driver or library, threads, fast paths.
    var details: String { get }

    func makeBuffer(elementCount: Int) throws(TensorError) -> any BackendBuffer
    /// Copies `source.count` bytes into the start of `buffer`.
    func write(_ source: UnsafeRawBufferPointer, to buffer: any BackendBuffer) throws(TensorError)
    /// Waits for pending work on `buffer` and copies `destination.count` bytes out of it.
    func read(_ buffer: any BackendBuffer, into destination: UnsafeMutableRawBufferPointer) throws(TensorError)
    /// Waits for all queued work.
    func synchronize() throws(TensorError)

    /// Sets the first `count` elements to `value`.
    func fill(_ buffer: any BackendBuffer, value: Float, count: Int) throws(TensorError)
    /// Contiguous `destination[i] = source[layout(i)]` for every index of `layout.shape`.
    func copyStrided(from source: any BackendBuffer, layout: StridedLayout,
                     to destination: any BackendBuffer) throws(TensorError)
    /// `out[i] = a[aLayout(i)] op b[bLayout(i)]`; both layouts have the output's shape
    /// (broadcast axes have stride 0); `out` is contiguous.
    func binary(_ op: BinaryOp, _ a: any BackendBuffer, _ aLayout: StridedLayout,
                _ b: any BackendBuffer, _ bLayout: StridedLayout,
                into out: any BackendBuffer) throws(TensorError)
    /// `out[i] = op(a[i])` for `count` elements.
    func unary(_ op: UnaryOp, _ a: any BackendBuffer, count: Int, into out: any BackendBuffer) throws(TensorError)
    /// `out = a * scalar + offset` elementwise over `count` elements.
    func scaleShift(_ a: any BackendBuffer, scale: Float, offset: Float, count: Int,
                    into out: any BackendBuffer) throws(TensorError)
    /// C = op(A) op(B), then the epilogue, per ``MatmulGeometry``.
    func matmul(_ a: any BackendBuffer, _ b: any BackendBuffer, into c: any BackendBuffer,
                geometry: MatmulGeometry, epilogue: MatmulEpilogue) throws(TensorError)
    /// `output[i] = f(input[i])` for `count` elements.
    func activate(_ activation: Activation, _ input: any BackendBuffer, count: Int,
                  into output: any BackendBuffer) throws(TensorError)
    /// `gradInput[i] = gradOutput[i] * f'(input[i])` for `count` elements.
    func activationBackward(_ activation: Activation, input: any BackendBuffer,
                            gradOutput: any BackendBuffer, count: Int,
                            into gradInput: any BackendBuffer) throws(TensorError)
    /// Views `input` as [outer, axis, inner] and writes `scale * sum over axis` as [outer, inner].
    func reduceSum(_ input: any BackendBuffer, outer: Int, axis: Int, inner: Int, scale: Float,
                   into output: any BackendBuffer) throws(TensorError)
    /// Few-bit forward: `output[i] = f(input[i])` and element i's code written to `codes`
    /// (see ``FewBitOutput``), in one pass.
    func activateFewBit(_ activation: Activation, _ input: any BackendBuffer, count: Int,
                        into output: any BackendBuffer, fewBit: FewBitOutput) throws(TensorError)
    /// Few-bit backward: `gradInput[i] = gradOutput[i] * table.levels[code_i]`.
    func fewBitBackward(_ fewBit: FewBitOutput, gradOutput: any BackendBuffer, count: Int,
                        into gradInput: any BackendBuffer) throws(TensorError)
    /// Row-wise softmax of `input` viewed as [rows, columns] (max-subtracted, so it never
    /// overflows); with `logarithm`, log-softmax `x - max - log(sum(exp(x - max)))`.
    func softmax(_ input: any BackendBuffer, rows: Int, columns: Int, logarithm: Bool,
                 into output: any BackendBuffer) throws(TensorError)

    /// Counts the inputs of `x` [rows, inner] that are not skipped (`|x| > t`): int32
    /// `counts[r]` for each row, then `counts[rows]` = the channels nonzero in any row
    /// (the union over the batch). The sparse dispatcher's density measurement.
    func sparseActiveCounts(_ x: any BackendBuffer, rows: Int, inner: Int, threshold: SparseThreshold,
                            into counts: any BackendBuffer) throws(TensorError)
    /// Input-sparse product `y[rows, columns] = x~ * w` where x~ is `x` [rows, inner] with
    /// every `|x| <= t` set to 0 and `w` is row-major [inner, columns]: only the weight rows
    /// of nonzero inputs are read, per ``SparseMode``.
    func sparseMatmul(_ x: any BackendBuffer, _ w: any BackendBuffer, into y: any BackendBuffer,
                      rows: Int, inner: Int, columns: Int, threshold: SparseThreshold,
                      mode: SparseMode) throws(TensorError)
    /// Output-sparse product: for each of the first `activeCount` int32 indices n in
    /// `activeRows`, `y[r, n] = epilogue(x[r, :] . w[n, :])` with `w` row-major [columns, inner];
    /// every other `y[r, n]` (and its pre-activation) is 0.
    func outputSparseMatmul(_ x: any BackendBuffer, _ w: any BackendBuffer, activeRows: any BackendBuffer,
                            activeCount: Int, into y: any BackendBuffer, rows: Int, inner: Int, columns: Int,
                            epilogue: MatmulEpilogue) throws(TensorError)
}

/// The compute operations of ``Backend``, one case per protocol method that computes.
///
/// The conformance suite has a table entry for every case, and a test fails when a
/// `Backend` method that computes has no case here (it reads the protocol's source), so a
/// new operation cannot reach the engine without a conformance entry.
public enum BackendOperation: String, Sendable, CaseIterable {
    case fill, copyStrided, binary, unary, scaleShift, matmul, activate, activationBackward, reduceSum, softmax, activateFewBit, fewBitBackward
    case sparseActiveCounts, sparseMatmul, outputSparseMatmul

    /// `Backend` methods that move memory rather than compute; they are exercised by every entry.
    public static let memoryMethods: Set<String> = ["makeBuffer", "write", "read", "synchronize"]
}
