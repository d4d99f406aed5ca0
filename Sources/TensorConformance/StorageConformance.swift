import TensorCore

/// Conformance of the matrix product and the fused linear epilogue on float16 and bfloat16
/// storage (``OperandTypes``): 16-bit kernels where a backend has them, the casts
/// composite elsewhere (the CPU backend, Vulkan without 16-bit storage), and the composite on
/// every backend.
///
/// Inputs are drawn in float32 and rounded to their storage type first, so the float64
/// reference multiplies exactly the values the kernel reads. Each element must then lie
/// within its own bound of that reference: float32 accumulation contributes at most
/// (k + 2) eps32 sum_k |a||b| (plus the bias), the activation (a Lipschitz constant L <= 1.2
/// for the activations used here) a further few eps32 of its value, and the store at most
/// half an ulp of the output type at the result's magnitude. An element outside its bound
/// reads back as NaN, which fails the case; the normalised error is also held below the
/// output type's squared half-ulp (2^-22 for float16, 2^-16 for bfloat16, matmulBound for
/// float32).
extension ConformanceTable {
    static func storageMatmulCases() -> [ConformanceCase] {
        let typeSets: [OperandTypes] = [
            OperandTypes(a: .float16, b: .float16, c: .float16),
            OperandTypes(a: .bfloat16, b: .bfloat16, c: .bfloat16),
            OperandTypes(a: .float32, b: .float16, c: .float32),
            OperandTypes(a: .float32, b: .bfloat16, c: .float32),
            OperandTypes(a: .float16, b: .float16, c: .float32),
            OperandTypes(a: .bfloat16, b: .float32, c: .bfloat16),
        ]
        let geometries: [(String, MatmulGeometry)] = [
            ("tile+1", MatmulGeometry(m: 33, n: 65, k: 17)),
            ("matvec", MatmulGeometry(m: 3, n: 129, k: 31)),
            ("transposed", MatmulGeometry(m: 17, n: 9, k: 33, transposeA: true, transposeB: true)),
            ("batched broadcast B", MatmulGeometry(m: 17, n: 33, k: 9, batch: 3, batchStrideB: 0)),
            ("aligned", MatmulGeometry(m: 128, n: 128, k: 16)),
        ]
        var cases: [ConformanceCase] = []
        for types in typeSets {
            for (shapeClass, geometry) in geometries {
                var g = geometry
                g.types = types
                cases.append(storageMatmulCase(shapeClass, g, activation: nil))
            }
            var linear = MatmulGeometry(m: 31, n: 37, k: 13)
            linear.types = types
            for activation in [Activation.gelu, .relu] {
                cases.append(storageMatmulCase("prime", linear, activation: activation))
            }
        }
        return cases
    }

    static func storageMatmulCase(_ shapeClass: String, _ g: MatmulGeometry, activation: Activation?) -> ConformanceCase {
        let shape = "[\(g.batch)] [\(g.m), \(g.k)]\(g.transposeA ? "T" : "") x [\(g.k), \(g.n)]\(g.transposeB ? "T" : "")"
        let op = (activation.map { "linear+bias+\($0)" } ?? "matmul") + " \(g.types)"
        let values = "normal"
        return ConformanceCase(.matmul, op, shapeClass: shapeClass, shape: shape, values: values,
                               bound: storageBound(g.types.c)) { (h) throws(TensorError) in
            let (aBytes, a) = storageValues(h.values(g.elementCountA, values), g.types.a)
            let (bBytes, b) = storageValues(h.values(g.elementCountB, values), g.types.b)
            let count = g.batch * g.m * g.n
            let out = try h.outputBytes(count * g.types.c.byteSize)
            var reference = References.matmul(a, b, g)
            var magnitude = References.matmul(a.map(abs), b.map(abs), g)
            var epilogue = MatmulEpilogue.none
            if let activation {
                let bias = h.values(g.n, "normal")
                epilogue = MatmulEpilogue(bias: try h.input(bias), activation: activation)
                reference = reference.enumerated().map { Double(bias[$0.offset % g.n]) + $0.element }
                magnitude = magnitude.enumerated().map { abs(Double(bias[$0.offset % g.n])) + $0.element }
            }
            try h.run(.matmul(a: try h.inputBytes(aBytes), b: try h.inputBytes(bBytes), c: out.buffer, geometry: g,
                              epilogue: epilogue))
            let actual = decode(try h.readBytes(out, byteCount: count * g.types.c.byteSize), g.types.c, count: count)
            let eps32 = 0x1p-24
            var bounds: [Double] = []
            for (index, preActivation) in reference.enumerated() {
                let accumulation = Double(g.k + 2) * eps32 * magnitude[index]
                var value = preActivation, slack = accumulation
                if let activation {
                    value = activation.forward(preActivation)
                    slack = 1.2 * accumulation + 8 * eps32 * (abs(value) + 1)
                }
                reference[index] = value
                bounds.append(halfUlp(abs(value) + slack, g.types.c) + slack)
            }
            return .init(actual: withinBounds(actual, reference, bounds), reference: reference)
        }
    }

    /// The normalised-error bound of a result stored as `type`: its squared relative half-ulp.
    static func storageBound(_ type: DType) -> Double {
        switch type {
        case .float16: return 0x1p-22
        case .bfloat16: return 0x1p-16
        default: return matmulBound
        }
    }

    /// Half the spacing of `type`'s values at magnitude `x` (subnormal spacing below the
    /// smallest normal).
    static func halfUlp(_ x: Double, _ type: DType) -> Double {
        let (bits, minExponent) = switch type {
        case .float16: (11, -14)
        case .bfloat16: (8, -126)
        default: (24, -126)
        }
        let exponent = x > 0 && x.isFinite ? max(Int(x.exponent), minExponent) : minExponent
        return Double(sign: .plus, exponent: exponent - bits, significand: 1)
    }

    /// `values` rounded to `type` (nearest even): the bytes a kernel reads and their exact values.
    static func storageValues(_ values: [Float], _ type: DType) -> (bytes: [UInt8], exact: [Float]) {
        switch type {
        case .float16:
            let halves = values.map { Float16($0) }
            return (rawBytes(halves.map(\.bitPattern)), halves.map { Float($0) })
        case .bfloat16:
            let words = values.map { (x: Float) -> UInt16 in
                let bits = x.bitPattern
                return UInt16((bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
            }
            return (rawBytes(words), words.map { Float(bitPattern: UInt32($0) << 16) })
        default:
            return (rawBytes(values), values)
        }
    }

    /// `actual` where each element is within its bound of the reference, NaN where not (so the
    /// case fails on any element out of bounds, whatever the overall error).
    static func withinBounds(_ actual: [Double], _ reference: [Double], _ bounds: [Double]) -> [Float] {
        (0..<actual.count).map { i in
            abs(actual[i] - reference[i]) <= bounds[i] ? Float(actual[i]) : .nan
        }
    }
}

/// Binary ops and activations on float16 / bfloat16 storage, read through strided views: the
/// same rounded inputs and per-element bounds as the products above, with the float32 error
/// of one operation (2 eps32 of the result; an activation's own float32 error, 1e-5 of
/// max(1, |f|), well under a 16-bit half-ulp at magnitudes near 1).
extension ConformanceTable {
    static func storageElementwiseCases() -> [ConformanceCase] {
        let binaryTypes: [OperandTypes] = [
            OperandTypes(a: .float16, b: .float16, c: .float16),
            OperandTypes(a: .bfloat16, b: .bfloat16, c: .bfloat16),
            OperandTypes(a: .float32, b: .float16, c: .float32),
            OperandTypes(a: .bfloat16, b: .float32, c: .float32),
        ]
        var cases: [ConformanceCase] = []
        for types in binaryTypes {
            for op in [BinaryOp.add, .mul, .div, .maximum, .less] {
                for view in ["broadcast", "transposed"] {
                    cases.append(storageBinaryCase(op, types, view: view))
                }
            }
        }
        for types in [OperandTypes(a: .float16, c: .float16), OperandTypes(a: .bfloat16, c: .bfloat16),
                      OperandTypes(a: .float32, c: .bfloat16)] {
            for activation in Activation.allCases {
                cases.append(storageActivationCase(activation, types, view: "transposed"))
            }
            cases.append(storageActivationCase(.gelu, types, view: "prime"))
        }
        return cases
    }

    /// A [31, 9] output: "broadcast" reads a contiguous and b as one row (strides [0, 1]);
    /// "transposed" reads a as a transposed view at an offset and b contiguous.
    static func storageBinaryCase(_ op: BinaryOp, _ types: OperandTypes, view: String) -> ConformanceCase {
        let (rows, columns) = (31, 9)
        let count = rows * columns
        let aLayout = view == "transposed"
            ? StridedLayout(shape: [rows, columns], strides: [1, rows], offset: 3)
            : StridedLayout.contiguous([rows, columns])
        let bLayout = view == "broadcast"
            ? StridedLayout(shape: [rows, columns], strides: [0, 1])
            : StridedLayout.contiguous([rows, columns])
        return ConformanceCase(.binary, "\(op) \(types)", shapeClass: view, shape: "[\(rows), \(columns)]", values: "normal",
                               bound: storageBound(types.c)) { (h) throws(TensorError) in
            let (aBytes, a) = storageValues(h.values(count + 3, "normal"), types.a)
            // Operands of b stay away from zero so quotients stay finite in every type.
            let (bBytes, b) = storageValues(h.values(count, "normal").map { $0 < 0 ? $0 - 0.5 : $0 + 0.5 }, types.b)
            let out = try h.outputBytes(count * types.c.byteSize)
            try h.run(.binary(op, a: try h.inputBytes(aBytes), aLayout: aLayout, b: try h.inputBytes(bBytes),
                              bLayout: bLayout, output: out.buffer, types: types))
            let actual = decode(try h.readBytes(out, byteCount: count * types.c.byteSize), types.c, count: count)
            let reference = (0..<count).map {
                op.apply(Double(a[References.stridedOffset($0, aLayout)]), Double(b[References.stridedOffset($0, bLayout)]))
            }
            let bounds = reference.map { halfUlp(abs($0) * (1 + 0x1p-23), types.c) + 0x1p-23 * abs($0) }
            return .init(actual: withinBounds(actual, reference, bounds), reference: reference)
        }
    }

    /// "transposed": a [13, 23] view of a [23, 13] input; "prime": 257 contiguous elements.
    static func storageActivationCase(_ activation: Activation, _ types: OperandTypes, view: String) -> ConformanceCase {
        let layout = view == "transposed"
            ? StridedLayout(shape: [13, 23], strides: [1, 13])
            : StridedLayout.contiguous([257])
        let count = layout.elementCount
        return ConformanceCase(.activate, "activate \(activation) \(types.a) -> \(types.c)", shapeClass: view,
                               shape: "\(layout.shape)", values: "normal", bound: storageBound(types.c)) { (h) throws(TensorError) in
            let (bytes, x) = storageValues(activationInputs(h, count, "normal", avoidKinks: false), types.a)
            let out = try h.outputBytes(count * types.c.byteSize)
            try h.run(.activate(activation, input: try h.inputBytes(bytes), layout: layout, output: out.buffer, types: types))
            let actual = decode(try h.readBytes(out, byteCount: count * types.c.byteSize), types.c, count: count)
            let reference = (0..<count).map { activation.forward(Double(x[References.stridedOffset($0, layout)])) }
            let bounds = reference.map {
                let slack = 1e-5 * max(1, abs($0))
                return halfUlp(abs($0) + slack, types.c) + slack
            }
            return .init(actual: withinBounds(actual, reference, bounds), reference: reference)
        }
    }
}
