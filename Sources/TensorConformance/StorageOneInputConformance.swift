import TensorCore

/// Scale-shift, unary functions, sums and the activation backward on float16 / bfloat16
/// storage (``OperandTypes``), with the inputs rounded to their storage type first (so the
/// float64 reference computes on exactly the values the kernel reads).
///
/// Each element must lie within its own bound: half an ulp of the output type at the
/// result's magnitude (the one 16-bit rounding of the store: 2^-11 relative for float16,
/// 2^-8 for bfloat16, the subnormal spacing below the smallest normal) plus the float32
/// error of the op before it (`slack`, each stated where it is computed). An element outside
/// its bound reads back as NaN and fails the case; the normalised error is also held below
/// the output type's squared relative half-ulp.
extension ConformanceTable {
    static func storageOneInputCases() -> [ConformanceCase] {
        let sameTypes = [OperandTypes(a: .float16, c: .float16), OperandTypes(a: .bfloat16, c: .bfloat16)]
        let mixedTypes = [OperandTypes(a: .float16, c: .float32), OperandTypes(a: .float32, c: .bfloat16)]
        var cases: [ConformanceCase] = []
        for types in sameTypes + mixedTypes {
            for view in ["transposed", "prime"] {
                cases.append(storageScaleShiftCase(types, view: view, values: "normal"))
            }
            for op in UnaryOp.allCases {
                cases.append(storageUnaryCase(op, types, view: "transposed"))
            }
            for (name, layout) in storageReduceLayouts {
                cases.append(storageReduceCase(types, shapeClass: name, layout: layout))
            }
        }
        for types in sameTypes {
            // Results in float16's subnormal range (below 2^-14): the rounding of the smallest
            // steps; and subnormal inputs.
            cases.append(storageScaleShiftCase(types, view: "prime", values: "small"))
            cases.append(storageUnaryCase(.sqrt, types, view: "prime"))
            for activation in Activation.allCases {
                cases.append(storageActivationBackwardCase(activation, OperandTypes(a: types.a, b: types.a, c: types.c)))
            }
        }
        for types in [OperandTypes(a: .float16, b: .float32, c: .float32), OperandTypes(a: .float32, b: .bfloat16, c: .bfloat16)] {
            cases.append(storageActivationBackwardCase(.gelu, types))
        }
        return cases
    }

    /// "transposed": a [13, 23] view of a [23, 13] input at offset 3; "prime": 257 contiguous elements.
    static func storageOneInputLayout(_ view: String) -> StridedLayout {
        view == "transposed" ? StridedLayout(shape: [13, 23], strides: [1, 13], offset: 3) : .contiguous([257])
    }

    /// `x * -1.5 + 0.25` ("normal") or `x * -1.3` on x ~ 1e-5 N(0, 1) ("small", float16
    /// subnormal results; -1.3 takes the products off the grid of halves, where every result
    /// would be exact or a tie). Float32 slack: the product and the sum each rounded once, at most
    /// 2^-24 of their magnitudes (a fused multiply-add rounds once, which is within it).
    static func storageScaleShiftCase(_ types: OperandTypes, view: String, values: String) -> ConformanceCase {
        let layout = storageOneInputLayout(view)
        let count = layout.elementCount
        let (scale, offset): (Float, Float) = values == "small" ? (-1.3, 0) : (-1.5, 0.25)
        // Subnormal float16 results have relative spacing up to 2^-24 / 1e-5; the per-element
        // bounds hold each of them to half that spacing.
        let bound = values == "small" && types.c == .float16 ? 1e-4 : storageBound(types.c)
        return ConformanceCase(.scaleShift, "scaleShift \(types.a) -> \(types.c)", shapeClass: view,
                               shape: "\(layout.shape)", values: values, bound: bound) { (h) throws(TensorError) in
            let drawn = h.values(layout.reachedOffsets.upperBound + 1, "normal", scale: values == "small" ? 1e-5 : 1)
            let (bytes, x) = storageValues(drawn, types.a)
            let out = try h.outputBytes(count * types.c.byteSize)
            try h.run(.scaleShift(input: try h.inputBytes(bytes), layout: layout, scale: scale, offset: offset,
                                  output: out.buffer, types: types))
            let actual = decode(try h.readBytes(out, byteCount: count * types.c.byteSize), types.c, count: count)
            let inputs = References.strided(x, layout)
            let reference = inputs.map { $0 * Double(scale) + Double(offset) }
            let bounds = inputs.indices.map { i in
                let slack = 0x1p-24 * (abs(inputs[i] * Double(scale)) + abs(reference[i]))
                return halfUlp(abs(reference[i]) + slack, types.c) + slack
            }
            return .init(actual: withinBounds(actual, reference, bounds), reference: reference)
        }
    }

    /// exp, log, sqrt, abs on x ~ N(0, 1) (log and sqrt on |x| + 1/16). Float32 slack: 2^-19 of
    /// the result plus 2^-21 (Vulkan's exp is within 3 + 2|x| ulp, log within 3 ulp or 2^-21
    /// absolute on [0.5, 2], sqrt within 3 ulp; abs is exact), far below a 16-bit half-ulp.
    static func storageUnaryCase(_ op: UnaryOp, _ types: OperandTypes, view: String) -> ConformanceCase {
        let layout = storageOneInputLayout(view)
        let count = layout.elementCount
        let values = view == "prime" ? "small" : "normal"
        return ConformanceCase(.unary, "unary \(op) \(types.a) -> \(types.c)", shapeClass: view,
                               shape: "\(layout.shape)", values: values, bound: storageBound(types.c)) { (h) throws(TensorError) in
            // "small": 1e-5 |N(0, 1)|, float16 subnormal inputs (read exactly as float32 normals).
            var drawn = h.values(layout.reachedOffsets.upperBound + 1, "normal", scale: values == "small" ? 1e-5 : 1)
            if op == .log || op == .sqrt { drawn = drawn.map { Swift.abs($0) + (values == "small" ? 0 : 0.0625) } }
            let (bytes, x) = storageValues(drawn, types.a)
            let out = try h.outputBytes(count * types.c.byteSize)
            try h.run(.unary(op, input: try h.inputBytes(bytes), layout: layout, output: out.buffer, types: types))
            let actual = decode(try h.readBytes(out, byteCount: count * types.c.byteSize), types.c, count: count)
            let reference = References.strided(x, layout).map { op.apply($0) }
            let bounds = reference.map {
                let slack = 0x1p-19 * abs($0) + 0x1p-21
                return halfUlp(abs($0) + slack, types.c) + slack
            }
            return .init(actual: withinBounds(actual, reference, bounds), reference: reference)
        }
    }

    /// Sums read in place as [outer, axis, inner]: rows, columns, a transposed view at an
    /// offset, and an empty axis (every output 0 * scale = 0).
    static let storageReduceLayouts: [(String, StridedLayout)] = [
        ("rows", .contiguous([7, 129, 1])),
        ("columns", .contiguous([3, 33, 37])),
        ("transposed", StridedLayout(shape: [1, 31, 17], strides: [0, 1, 31], offset: 2)),
        ("empty axis", .contiguous([3, 0, 5])),
    ]

    /// `0.5 * sum over the axis`, accumulated in float32. Float32 slack: a sum of n terms in
    /// any order is within (n - 1) 2^-24 sum |x| of the exact one (the scale 0.5 is exact).
    static func storageReduceCase(_ types: OperandTypes, shapeClass: String, layout: StridedLayout) -> ConformanceCase {
        let (outer, axis, inner) = (layout.shape[0], layout.shape[1], layout.shape[2])
        let count = outer * inner
        return ConformanceCase(.reduceSum, "reduceSum \(types.a) -> \(types.c)", shapeClass: shapeClass,
                               shape: "\(layout.shape) strides \(layout.strides)", values: "normal",
                               bound: storageBound(types.c)) { (h) throws(TensorError) in
            let (bytes, x) = storageValues(h.values(max(layout.reachedOffsets.upperBound + 1, 1), "normal"), types.a)
            let out = try h.outputBytes(count * types.c.byteSize)
            try h.run(.reduceSum(input: try h.inputBytes(bytes), layout: layout, scale: 0.5, output: out.buffer,
                                 types: types))
            let actual = decode(try h.readBytes(out, byteCount: count * types.c.byteSize), types.c, count: count)
            let viewed = References.strided(x, layout)
            var reference = [Double](repeating: 0, count: count)
            var magnitude = [Double](repeating: 0, count: count)
            for o in 0..<outer { for a in 0..<axis { for i in 0..<inner {
                reference[o * inner + i] += 0.5 * viewed[(o * axis + a) * inner + i]
                magnitude[o * inner + i] += 0.5 * abs(viewed[(o * axis + a) * inner + i])
            } } }
            let bounds = reference.indices.map { i in
                let slack = Double(max(axis - 1, 0)) * 0x1p-24 * magnitude[i]
                return halfUlp(abs(reference[i]) + slack, types.c) + slack
            }
            return .init(actual: withinBounds(actual, reference, bounds), reference: reference)
        }
    }

    /// `gradOutput * f'(x)` on 257 elements against a float64 central difference of the
    /// forward definition (accurate to about 1e-10). Float32 slack: 2e-6 |gradOutput| (|f'| +
    /// 0.1) (the kernels' derivatives use float32 exp / erf / tanh approximations, a few ulps
    /// of f' plus an absolute error where f' crosses 0), under a tenth of a 16-bit half-ulp
    /// of the result down to slopes of 0.01 (leaky ReLU's).
    static func storageActivationBackwardCase(_ activation: Activation, _ types: OperandTypes) -> ConformanceCase {
        let count = 257
        return ConformanceCase(.activationBackward, "activationBackward \(activation) \(types)", shapeClass: "prime",
                               shape: "[\(count)]", values: "normal", bound: storageBound(types.c)) { (h) throws(TensorError) in
            let (inputBytes, x) = storageValues(activationInputs(h, count, "normal", avoidKinks: true), types.a)
            let (gradientBytes, g) = storageValues(h.values(count, "normal"), types.b)
            let out = try h.outputBytes(count * types.c.byteSize)
            try h.run(.activationBackward(activation, input: try h.inputBytes(inputBytes),
                                          gradOutput: try h.inputBytes(gradientBytes), count: count,
                                          gradInput: out.buffer, types: types))
            let actual = decode(try h.readBytes(out, byteCount: count * types.c.byteSize), types.c, count: count)
            let slopes = x.map { References.finiteDifference(activation, Double($0)) }
            let reference = (0..<count).map { Double(g[$0]) * slopes[$0] }
            let bounds = (0..<count).map { i in
                let slack = 2e-6 * abs(Double(g[i])) * (abs(slopes[i]) + 0.1)
                return halfUlp(abs(reference[i]) + slack, types.c) + slack
            }
            return .init(actual: withinBounds(actual, reference, bounds), reference: reference)
        }
    }
}
