import TensorCore

/// One conformance check: an operation on one shape class and value class, with its
/// float64 reference and error bound.
public struct ConformanceCase: Sendable {
    /// The backend operation exercised.
    public let operation: BackendOperation
    /// What is being checked, e.g. "matmul", "activate gelu", "linear relu fused vs unfused".
    public let op: String
    /// Shape class: "1", "prime", "tile-1", "tile+1", "empty", "batched", "transposed", "large", ...
    public let shapeClass: String
    /// Shape description, e.g. "[33, 65] x [65, 17]".
    public let shape: String
    /// Value class: "normal", "large", "denormal", "zeros".
    public let values: String
    /// Largest allowed normalised MSE, sum (a - b)^2 / sum b^2.
    public let bound: Double
    /// Zero and infinity signs must match the reference exactly.
    public let exactSigns: Bool
    /// Whether the case runs its ops as their composites (``BackendOp/composite(temporary:)``):
    /// what a backend without a kernel for them computes, held to the same reference and bound.
    public private(set) var viaComposite = false
    let body: @Sendable (Harness) throws(TensorError) -> Computed

    /// What a case's body returns: the backend's values and the float64 reference.
    struct Computed {
        var actual: [Float]
        var reference: [Double]
    }

    init(_ operation: BackendOperation, _ op: String, shapeClass: String, shape: String, values: String,
         bound: Double, exactSigns: Bool = false, body: @escaping @Sendable (Harness) throws(TensorError) -> Computed) {
        self.operation = operation
        self.op = op
        self.shapeClass = shapeClass
        self.shape = shape
        self.values = values
        self.bound = bound
        self.exactSigns = exactSigns
        self.body = body
    }
}

extension ConformanceCase {
    /// The same case with its ops run as their composites, named "... (composite)".
    func asComposite() -> ConformanceCase {
        var copy = ConformanceCase(operation, op + " (composite)", shapeClass: shapeClass, shape: shape, values: values,
                                   bound: bound, exactSigns: exactSigns, body: body)
        copy.viaComposite = true
        return copy
    }
}

/// The outcome of one case on one backend.
public struct ConformanceResult: Sendable, CustomStringConvertible {
    public let testCase: ConformanceCase
    public let device: String
    public let seed: UInt64
    public let nmse: Double
    public let failure: String?
    public var passed: Bool { failure == nil }

    public var description: String {
        let verdict = failure.map { "FAIL: \($0)" } ?? "pass"
        return "\(device) \(testCase.op) \(testCase.shapeClass) \(testCase.shape) \(testCase.values) seed \(seed): nmse \(nmse) bound \(testCase.bound) \(verdict)"
    }
}
