import TensorCore

/// Conformance of the matrix product and the fused linear epilogue on float16 and bfloat16
/// storage (``MatmulElementTypes``): 16-bit kernels where a backend has them, the casts
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
        let typeSets: [MatmulElementTypes] = [
            MatmulElementTypes(a: .float16, b: .float16, c: .float16),
            MatmulElementTypes(a: .bfloat16, b: .bfloat16, c: .bfloat16),
            MatmulElementTypes(a: .float32, b: .float16, c: .float32),
            MatmulElementTypes(a: .float32, b: .bfloat16, c: .float32),
            MatmulElementTypes(a: .float16, b: .float16, c: .float32),
            MatmulElementTypes(a: .bfloat16, b: .float32, c: .bfloat16),
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
