import Foundation
import TensorCore

/// The table of every backend operation, each with its shapes, value classes, float64
/// reference and error bound. Bounds: 1e-10 for exact-by-construction ops (copies, fills,
/// single roundings), 1e-9 for matmul (fp32 accumulation vs float64 reaches ~1e-13
/// here; DESIGN's starting bound 5e-4 would hide real bugs), 1e-8 for transcendental
/// activations (polynomial or driver approximations of exp/erf/tanh).
public enum ConformanceTable {
    public static let exactBound = 1e-10
    public static let matmulBound = 1e-9
    public static let activationBound = 1e-8
    /// Sums of up to 65537 fp32 terms: pairwise or tree orders reach ~1e-13; a plain running sum ~1e-9.
    public static let reduceBound = 1e-9

    /// Matmul tile edges: kernels tile with 8, 16, 32, 64 or 128; each is tested one short and one past.
    public static let tileSizes = [8, 16, 32, 64, 128]

    /// Every case, in a fixed order (the seed of case i is base seed + i).
    public static func cases() -> [ConformanceCase] {
        let groups: [[ConformanceCase]] = [
            fillCases(), copyCases(), binaryCases(), scaleShiftCases(), matmulCases(), epilogueCases(),
            activationCases(), activationBackwardCases(), reduceCases(), unaryCases(), softmaxCases(), fewBitCases(),
            sparseCases(), castCases(), oneHotCases(), deltaUpdateCases(), adamUpdateCases(), compositeCases(),
            normCases(), copyIntoCases(), attentionCases(), selectCases(), reduceIndexCases(), topKCases(),
            dropoutCases(), embeddingCases(), normFromOutputCases(), quantizeCases(), storageMatmulCases(),
            storageElementwiseCases(), storageTransformerCases(), storageOneInputCases(),
        ]
        return groups.flatMap { $0 } + matmulKernelCases()
    }

    /// Every case of an op that has a composite, run again as that composite: the fallback a
    /// backend without the kernel gets is held to the same float64 reference and bound.
    static func compositeCases() -> [ConformanceCase] {
        (scaleShiftCases() + epilogueCases() + fewBitCases().filter { $0.operation == .matmul } + adamUpdateCases()
         + storageMatmulCases() + storageElementwiseCases() + storageTransformerCases() + storageOneInputCases()
         + lerpCases())
            .map { $0.asComposite() }
    }

    static func fillCases() -> [ConformanceCase] {
        [(0, "empty"), (1, "1"), (257, "prime"), (65_537, "large")].flatMap { count, shapeClass in
            [Float(-0.0), 3.5, .infinity].map { value in
                ConformanceCase(.fill, "fill", shapeClass: shapeClass, shape: "[\(count)]", values: "\(value)",
                                bound: exactBound, exactSigns: true) { (h) throws(TensorError) in
                    let out = try h.output(count)
                    try h.run(.fill(out.buffer, value: value, count: count))
                    return .init(actual: try h.read(out), reference: [Double](repeating: Double(value), count: count))
                }
            }
        }
    }

    static func copyCases() -> [ConformanceCase] {
        let layouts: [(String, Int, StridedLayout)] = [
            ("transposed", 31 * 7, StridedLayout(shape: [7, 31], strides: [1, 7])),
            ("transposed large", 257 * 129, StridedLayout(shape: [129, 257], strides: [1, 129])),
            ("permuted 3-D", 2 * 3 * 5, StridedLayout(shape: [5, 2, 3], strides: [1, 15, 5])),
            ("broadcast", 7, StridedLayout(shape: [31, 7], strides: [0, 1])),
            ("offset", 100, StridedLayout(shape: [3, 4], strides: [20, 2], offset: 17)),
            ("rank 8", 256, StridedLayout(shape: [2, 2, 2, 2, 2, 2, 2, 2], strides: [1, 2, 4, 8, 16, 32, 64, 128])),
            ("empty", 4, StridedLayout(shape: [0, 4], strides: [4, 1])),
        ]
        return layouts.flatMap { name, sourceCount, layout in
            ["normal", "denormal"].map { values in
                ConformanceCase(.copyStrided, "copyStrided", shapeClass: name, shape: "\(layout.shape)", values: values,
                                bound: exactBound, exactSigns: true) { (h) throws(TensorError) in
                    let source = h.values(sourceCount, values)
                    let input = try h.input(source)
                    let out = try h.output(layout.elementCount)
                    if layout.elementCount > 0 { try h.run(.copyStrided(source: input, layout: layout, destination: out.buffer)) }
                    return .init(actual: try h.read(out), reference: References.strided(source, layout))
                }
            }
        }
    }

    static func binaryCases() -> [ConformanceCase] {
        // (class, out shape, a strides, a count, b strides, b count)
        let shapes: [(String, [Int], [Int], Int, [Int], Int)] = [
            ("1", [1], [1], 1, [1], 1),
            ("prime", [257], [1], 257, [1], 257),
            ("row broadcast", [31, 7], [7, 1], 217, [0, 1], 7),
            ("column broadcast", [7, 31], [31, 1], 217, [1, 0], 7),
            ("scalar", [65_537], [1], 65_537, [0], 1),
            ("outer broadcast", [5, 3], [1, 0], 5, [0, 1], 3),
            ("3-D", [3, 5, 7], [35, 7, 1], 105, [0, 1, 0], 5),
            ("empty", [0, 7], [7, 1], 0, [0, 1], 7),
        ]
        return BinaryOp.allCases.flatMap { op in
            shapes.flatMap { shapeClass, shape, aStrides, aCount, bStrides, bCount in
                ["normal", "large", "zeros"].map { values in
                    ConformanceCase(.binary, "binary \(op)", shapeClass: shapeClass, shape: "\(shape)", values: values,
                                    bound: exactBound) { (h) throws(TensorError) in
                        let a = h.values(aCount, values)
                        // Divisors stay away from zero so the reference is finite.
                        let b = op == .div ? h.values(bCount, "normal").map { $0 >= 0 ? $0 + 0.5 : $0 - 0.5 } : h.values(bCount, values)
                        let aLayout = StridedLayout(shape: shape, strides: aStrides)
                        let bLayout = StridedLayout(shape: shape, strides: bStrides)
                        let count = aLayout.elementCount
                        let out = try h.output(count)
                        if count > 0 {
                            try h.run(.binary(op, a: try h.input(a), aLayout: aLayout, b: try h.input(b), bLayout: bLayout,
                                                       output: out.buffer))
                        }
                        let ra = References.strided(a, aLayout), rb = References.strided(b, bLayout)
                        return .init(actual: try h.read(out), reference: (0..<count).map { op.apply(ra[$0], rb[$0]) })
                    }
                }
            }
        }
    }

    static func scaleShiftCases() -> [ConformanceCase] {
        [(1, "1"), (257, "prime"), (65_537, "large")].flatMap { count, shapeClass in
            ["normal", "large", "denormal"].map { values in
                ConformanceCase(.scaleShift, "scaleShift", shapeClass: shapeClass, shape: "[\(count)]", values: values,
                                bound: exactBound) { (h) throws(TensorError) in
                    let a = h.values(count, values)
                    let out = try h.output(count)
                    try h.run(.scaleShift(input: try h.input(a), layout: .contiguous([count]), scale: -1.5, offset: 0.25,
                                          output: out.buffer))
                    return .init(actual: try h.read(out), reference: a.map { Double(Float(-1.5) * $0 + 0.25) })
                }
            }
        } + stridedInputLayouts.map { name, sourceCount, layout in
            ConformanceCase(.scaleShift, "scaleShift", shapeClass: name, shape: "\(layout.shape)", values: "normal",
                            bound: exactBound) { (h) throws(TensorError) in
                let a = h.values(sourceCount, "normal")
                let out = try h.output(layout.elementCount)
                try h.run(.scaleShift(input: try h.input(a), layout: layout, scale: -1.5, offset: 0.25, output: out.buffer))
                return .init(actual: try h.read(out), reference: References.strided(a, layout).map { -1.5 * $0 + 0.25 })
            }
        }
    }

    /// (class, m, n, k) covering 1, primes, 0-size, and one short / one past every tile size.
    static var matmulShapes: [(String, Int, Int, Int)] {
        var shapes: [(String, Int, Int, Int)] = [
            ("1", 1, 1, 1), ("prime", 7, 31, 257), ("prime", 31, 7, 13), ("matvec", 1, 257, 129),
            ("matvec", 3, 129, 65), ("non-square", 5, 300, 3), ("k=0", 4, 6, 0), ("empty", 0, 5, 3),
            ("large", 260, 130, 96),
        ]
        for t in tileSizes {
            shapes.append(("tile-1", t - 1, t - 1, t - 1))
            shapes.append(("tile+1", t + 1, t + 1, t + 1))
            shapes.append(("tile", t, t, t))
            shapes.append(("tile mixed", t + 1, t - 1, t))
        }
        return shapes
    }

    static func matmulCases() -> [ConformanceCase] {
        var cases: [ConformanceCase] = []
        for (shapeClass, m, n, k) in matmulShapes {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let values = ta && tb ? "large" : (ta ? "zeros" : "normal")
                let geometry = MatmulGeometry(m: m, n: n, k: k, transposeA: ta, transposeB: tb)
                let label = (ta ? "transposed A " : "") + (tb ? "transposed B " : "") + shapeClass
                cases.append(matmulCase(label, geometry, values: values))
            }
        }
        cases.append(matmulCase("batched", MatmulGeometry(m: 17, n: 33, k: 9, batch: 3), values: "normal"))
        cases.append(matmulCase("batched broadcast B", MatmulGeometry(m: 17, n: 33, k: 9, batch: 4, batchStrideB: 0), values: "normal"))
        cases.append(matmulCase("batched transposed", MatmulGeometry(m: 65, n: 7, k: 31, batch: 2, transposeA: true, transposeB: true), values: "normal"))
        cases.append(matmulCase("batched matvec", MatmulGeometry(m: 1, n: 65, k: 33, batch: 5, batchStrideB: 0), values: "normal"))
        cases.append(matmulCase("denormal", MatmulGeometry(m: 33, n: 17, k: 65), values: "denormal"))
        return cases
    }

    static func matmulCase(_ shapeClass: String, _ g: MatmulGeometry, values: String,
                           epilogue activation: Activation? = nil) -> ConformanceCase {
        let shape = "[\(g.batch)] [\(g.m), \(g.k)]\(g.transposeA ? "T" : "") x [\(g.k), \(g.n)]\(g.transposeB ? "T" : "")"
        let aCount = g.batchStrideA == 0 ? g.m * g.k : g.batch * g.m * g.k
        let bCount = g.batchStrideB == 0 ? g.k * g.n : g.batch * g.k * g.n
        let op = activation.map { "matmul+bias+\($0)" } ?? "matmul"
        return ConformanceCase(.matmul, op, shapeClass: shapeClass, shape: shape, values: values,
                               bound: activation.map { $0 == .identity ? matmulBound : activationBound } ?? matmulBound) { (h) throws(TensorError) in
            let a = h.values(aCount, values), b = h.values(bCount, values)
            let count = g.batch * g.m * g.n
            let out = try h.output(count)
            var reference = References.matmul(a, b, g)
            var epilogue = MatmulEpilogue.none
            var pre: GuardedOutput?
            if let activation {
                let bias = h.values(g.n, "normal")
                pre = try h.output(count)
                epilogue = MatmulEpilogue(bias: try h.input(bias), activation: activation, preActivation: pre!.buffer)
                reference = reference.enumerated().map { activation.forward($0.element + Double(bias[$0.offset % g.n])) }
            }
            try h.run(.matmul(a: try h.input(a), b: try h.input(b), c: out.buffer, geometry: g, epilogue: epilogue))
            var actual = try h.read(out)
            if let pre {
                // The pre-activation output must hold acc + bias: check it by re-applying f.
                let preValues = try h.read(pre)
                let recomputed = preValues.map { activation!.forward(Double($0)) }
                actual += actual.isEmpty ? [] : recomputed.map { Float($0) }
                reference += reference
            }
            return .init(actual: actual, reference: reference)
        }
    }

    /// matmul with the bias + activation epilogue, for every activation, fused (one call)
    /// and compared with the unfused sequence matmul, binary add, activate on the same backend.
    static func epilogueCases() -> [ConformanceCase] {
        var cases: [ConformanceCase] = []
        for activation in Activation.allCases {
            cases.append(matmulCase("tile+1", MatmulGeometry(m: 33, n: 65, k: 17), values: "normal", epilogue: activation))
            cases.append(matmulCase("matvec", MatmulGeometry(m: 1, n: 129, k: 31), values: "normal", epilogue: activation))
            cases.append(ConformanceCase(.matmul, "linear \(activation) fused vs unfused", shapeClass: "prime",
                                         shape: "[31, 13] x [13, 37]", values: "normal", bound: activationBound) { (h) throws(TensorError) in
                let (m, n, k) = (31, 37, 13)
                let g = MatmulGeometry(m: m, n: n, k: k)
                let x = try h.input(h.values(m * k, "normal")), w = try h.input(h.values(k * n, "normal"))
                let bias = try h.input(h.values(n, "normal"))
                let fused = try h.output(m * n)
                try h.run(.matmul(a: x, b: w, c: fused.buffer, geometry: g,
                                  epilogue: MatmulEpilogue(bias: bias, activation: activation)))
                let product = try h.output(m * n), shifted = try h.output(m * n), unfused = try h.output(m * n)
                try h.run(.matmul(a: x, b: w, c: product.buffer, geometry: g, epilogue: .none))
                try h.run(.binary(.add, a: product.buffer, aLayout: StridedLayout(shape: [m, n], strides: [n, 1]),
                                  b: bias, bLayout: StridedLayout(shape: [m, n], strides: [0, 1]), output: shifted.buffer))
                try h.run(.activate(activation, input: shifted.buffer, layout: .contiguous([m * n]), output: unfused.buffer))
                return .init(actual: try h.read(fused), reference: try h.read(unfused).map(Double.init))
            })
        }
        return cases
    }

    static func activationInputs(_ h: Harness, _ count: Int, _ values: String, avoidKinks: Bool) -> [Float] {
        var x: [Float]
        switch values {
        case "large": x = h.values(count, "normal", scale: 30)
        case "denormal", "zeros": x = h.values(count, values)
        default: x = h.values(count, "normal", scale: 3)
        }
        if avoidKinks { x = x.map { abs($0) < 1e-3 ? ($0 < 0 ? -1e-3 : 1e-3) + $0 : $0 } }
        return x
    }

    static let activationSizes: [(Int, String)] = [(1, "1"), (257, "prime"), (65_537, "large")]

    static func activationCases() -> [ConformanceCase] {
        (Activation.allCases + [.leakyReLU(slope: 0.2), .elu(alpha: 0.5)]).flatMap { activation in
            activationSizes.flatMap { count, shapeClass in
                ["normal", "large", "denormal", "zeros"].map { values in
                    ConformanceCase(.activate, "activate \(activation)", shapeClass: shapeClass, shape: "[\(count)]",
                                    values: values, bound: activationBound) { (h) throws(TensorError) in
                        let x = activationInputs(h, count, values, avoidKinks: false)
                        let out = try h.output(count)
                        try h.run(.activate(activation, input: try h.input(x), layout: .contiguous([count]),
                                            output: out.buffer))
                        return .init(actual: try h.read(out), reference: x.map { activation.forward(Double($0)) })
                    }
                }
            }
        } + [Activation.relu, .gelu, .silu].flatMap { activation in
            stridedInputLayouts.map { name, sourceCount, layout in
                ConformanceCase(.activate, "activate \(activation)", shapeClass: name, shape: "\(layout.shape)",
                                values: "normal", bound: activationBound) { (h) throws(TensorError) in
                    let x = activationInputs(h, sourceCount, "normal", avoidKinks: false)
                    let out = try h.output(layout.elementCount)
                    try h.run(.activate(activation, input: try h.input(x), layout: layout, output: out.buffer))
                    return .init(actual: try h.read(out),
                                 reference: References.strided(x, layout).map { activation.forward($0) })
                }
            }
        }
    }

    /// Views an elementwise op must read in place: (class, source elements, layout).
    static let stridedInputLayouts: [(String, Int, StridedLayout)] = [
        ("transposed", 217, StridedLayout(shape: [7, 31], strides: [1, 7])),
        ("broadcast", 7, StridedLayout(shape: [31, 7], strides: [0, 1])),
        ("offset", 100, StridedLayout(shape: [3, 4], strides: [20, 2], offset: 17)),
        ("permuted 3-D", 30, StridedLayout(shape: [5, 2, 3], strides: [1, 15, 5])),
        ("contiguous offset", 70_000, StridedLayout(shape: [65_537], strides: [1], offset: 2_000)),
    ]

    /// Backward against a float64 finite difference of the forward definition, times the incoming gradient.
    static func activationBackwardCases() -> [ConformanceCase] {
        (Activation.allCases + [.leakyReLU(slope: 0.2), .elu(alpha: 0.5)]).flatMap { activation in
            activationSizes.flatMap { count, shapeClass in
                ["normal", "large"].map { values in
                    ConformanceCase(.activationBackward, "activationBackward \(activation)", shapeClass: shapeClass,
                                    shape: "[\(count)]", values: values, bound: activationBound) { (h) throws(TensorError) in
                        let x = activationInputs(h, count, values, avoidKinks: true)
                        let grad = h.values(count, "normal")
                        let out = try h.output(count)
                        try h.run(.activationBackward(activation, input: try h.input(x), gradOutput: try h.input(grad),
                                                      count: count, gradInput: out.buffer))
                        let reference = (0..<count).map { Double(grad[$0]) * References.finiteDifference(activation, Double(x[$0])) }
                        return .init(actual: try h.read(out), reference: reference)
                    }
                }
            }
        }
    }

    static func reduceCases() -> [ConformanceCase] {
        let shapes: [(String, Int, Int, Int)] = [
            ("1", 1, 1, 1), ("prime", 7, 31, 5), ("inner 1", 31, 257, 1), ("outer 1", 1, 257, 33),
            ("large axis", 2, 65_537, 1), ("large inner", 3, 7, 4099), ("tile+1", 33, 65, 1), ("tile-1", 31, 63, 3),
        ]
        let contiguous = shapes.map { name, outer, axis, inner in (name, StridedLayout.contiguous([outer, axis, inner])) }
        // Views read in place: column sums of a transpose, a permuted 3-D tensor, a broadcast
        // (stride 0) axis, an offset with gaps.
        let views: [(String, StridedLayout)] = [
            ("transposed", StridedLayout(shape: [1, 300, 7], strides: [0, 1, 300])),
            ("transposed rows", StridedLayout(shape: [33, 65, 1], strides: [1, 33, 0])),
            ("permuted 3-D", StridedLayout(shape: [5, 7, 3], strides: [1, 15, 5])),
            ("broadcast axis", StridedLayout(shape: [4, 9, 6], strides: [6, 0, 1])),
            ("offset, gaps", StridedLayout(shape: [3, 5, 4], strides: [40, 8, 1], offset: 5)),
        ]
        return (contiguous + views).flatMap { shapeClass, layout in
            ["normal", "large", "zeros"].map { values in
                ConformanceCase(.reduceSum, "reduceSum", shapeClass: shapeClass, shape: "\(layout.shape) strides \(layout.strides)",
                                values: values, bound: reduceBound) { (h) throws(TensorError) in
                    let (outer, axis, inner) = (layout.shape[0], layout.shape[1], layout.shape[2])
                    let x = h.values(layout.reachedOffsets.upperBound + 1, values)
                    let out = try h.output(outer * inner)
                    try h.run(.reduceSum(input: try h.input(x), layout: layout, scale: 0.5, output: out.buffer))
                    let viewed = References.strided(x, layout)
                    var reference = [Double](repeating: 0, count: outer * inner)
                    for o in 0..<outer { for a in 0..<axis { for i in 0..<inner {
                        reference[o * inner + i] += 0.5 * viewed[(o * axis + a) * inner + i]
                    } } }
                    return .init(actual: try h.read(out), reference: reference)
                }
            }
        }
    }

    static func unaryCases() -> [ConformanceCase] {
        UnaryOp.allCases.flatMap { op in
            [(1, "1"), (257, "prime"), (65_537, "large")].flatMap { count, shapeClass in
                // log and sqrt of a denormal differ by orders of magnitude when a device flushes
                // denormal inputs to zero, which Vulkan allows; they get normal inputs only.
                (op == .log || op == .sqrt ? ["normal", "large"] : ["normal", "large", "denormal"]).map { values in
                    ConformanceCase(.unary, "unary \(op)", shapeClass: shapeClass, shape: "[\(count)]", values: values,
                                    bound: activationBound) { (h) throws(TensorError) in
                        var x = h.values(count, values, scale: op == .exp && values == "large" ? 1e-2 : 1)
                        if op == .log || op == .sqrt { x = x.map { Swift.abs($0) + (values == "denormal" ? 0 : 1e-3) } }
                        let out = try h.output(count)
                        try h.run(.unary(op, input: try h.input(x), layout: .contiguous([count]), output: out.buffer))
                        return .init(actual: try h.read(out), reference: x.map { op.apply(Double($0)) })
                    }
                }
            }
        } + [UnaryOp.exp, .abs].flatMap { op in
            stridedInputLayouts.map { name, sourceCount, layout in
                ConformanceCase(.unary, "unary \(op)", shapeClass: name, shape: "\(layout.shape)", values: "normal",
                                bound: activationBound) { (h) throws(TensorError) in
                    let x = h.values(sourceCount, "normal")
                    let out = try h.output(layout.elementCount)
                    try h.run(.unary(op, input: try h.input(x), layout: layout, output: out.buffer))
                    return .init(actual: try h.read(out), reference: References.strided(x, layout).map { op.apply($0) })
                }
            }
        }
    }

    static func softmaxCases() -> [ConformanceCase] {
        let contiguous: [(String, StridedLayout)] = [("1", 1, 1), ("prime", 7, 31), ("classes 10", 257, 10),
                                                     ("wide", 3, 4099), ("tile+1", 65, 33)]
            .map { name, rows, columns in (name, .contiguous([rows, columns])) }
        // Views read in place: softmax down the columns (a transpose, narrow and wide rows), rows
        // of a permuted 3-D tensor, a broadcast row, an offset with gaps between rows.
        let views: [(String, StridedLayout)] = [
            ("transposed", StridedLayout(shape: [31, 7], strides: [1, 31])),
            ("transposed wide", StridedLayout(shape: [5, 300], strides: [1, 5])),
            ("permuted 3-D", StridedLayout(shape: [3, 4, 5], strides: [5, 15, 1])),
            ("broadcast rows", StridedLayout(shape: [6, 9], strides: [0, 1])),
            ("offset, gaps", StridedLayout(shape: [4, 6], strides: [10, 1], offset: 3)),
        ]
        return [false, true].flatMap { logarithm in
            (contiguous + views).flatMap { shapeClass, layout in
                ["normal", "large"].map { values in
                    ConformanceCase(.softmax, logarithm ? "logSoftmax" : "softmax", shapeClass: shapeClass,
                                    shape: "\(layout.shape)", values: values, bound: activationBound) { (h) throws(TensorError) in
                        let (rowLayout, columns, _) = layout.rowsAndColumns
                        let rows = rowLayout.elementCount
                        let sourceCount = layout.reachedOffsets.upperBound + 1
                        let source = h.values(sourceCount, values, scale: values == "large" ? 1e-2 : 1)
                        let x = References.strided(source, layout).map { Float($0) }
                        let out = try h.output(rows * columns)
                        try h.run(.softmax(input: try h.input(source), layout: layout, logarithm: logarithm,
                                           output: out.buffer))
                        var reference = [Double](repeating: 0, count: rows * columns)
                        for r in 0..<rows {
                            let row = x[(r * columns)..<((r + 1) * columns)].map(Double.init)
                            let top = row.max()!
                            let logTotal = Foundation.log(row.map { Foundation.exp($0 - top) }.reduce(0, +))
                            for c in 0..<columns {
                                reference[r * columns + c] = logarithm ? row[c] - top - logTotal : Foundation.exp(row[c] - top - logTotal)
                            }
                        }
                        return .init(actual: try h.read(out), reference: reference)
                    }
                }
            }
        }
    }

    /// Few-bit forward (activation values and packed codes) and backward, every width 1...8
    /// (3, 5, 6, 7 straddle word boundaries), counts that end mid-word, inputs on the borders.
    static func fewBitCases() -> [ConformanceCase] {
        let activations: [Activation] = [.gelu, .silu, .tanh, .relu]
        var cases: [ConformanceCase] = []
        for bits in 1...8 {
            for (count, shapeClass) in [(1, "1"), (37, "prime"), (4099, "large")] {
                let activation = activations[bits % activations.count]
                cases.append(ConformanceCase(.activateFewBit, "activateFewBit \(activation) \(bits)-bit", shapeClass: shapeClass,
                                             shape: "[\(count)]", values: "normal+borders", bound: activationBound) { (h) throws(TensorError) in
                    let table = try FewBitTable.optimal(for: activation, bits: bits)
                    var x = h.values(count, "normal", scale: 3)
                    for i in stride(from: 0, to: count, by: 5) { x[i] = table.borders[i % table.borders.count] }
                    let words = FewBitCodes.packedWordCount(count: count, bits: bits)
                    let out = try h.output(count)
                    let codes = try h.output(words)
                    try h.run(.activateFewBit(activation, input: try h.input(x), count: count, output: out.buffer,
                                              fewBit: FewBitOutput(codes: codes.buffer, table: table)))
                    let packed = try h.read(codes).map(\.bitPattern)
                    let decoded = FewBitCodes.unpack(packed, count: count, bits: bits).map(Float.init)
                    let expectedCodes = x.map { Double(table.code(for: $0)) }
                    return .init(actual: try h.read(out) + decoded, reference: x.map { activation.forward(Double($0)) } + expectedCodes)
                })
                cases.append(ConformanceCase(.fewBitBackward, "fewBitBackward \(activation) \(bits)-bit", shapeClass: shapeClass,
                                             shape: "[\(count)]", values: "normal", bound: 0) { (h) throws(TensorError) in
                    let table = try FewBitTable.optimal(for: activation, bits: bits)
                    let codes = (0..<count).map { _ in UInt8(h.rng.next() % UInt64(1 << bits)) }
                    let words = FewBitCodes.pack(codes, bits: bits).map { Float(bitPattern: $0) }
                    let g = h.values(count, "normal")
                    let out = try h.output(count)
                    try h.run(.fewBitBackward(FewBitOutput(codes: try h.input(words), table: table), gradOutput: try h.input(g),
                                              count: count, gradInput: out.buffer))
                    // One float32 multiplication per element: the result must be exact.
                    return .init(actual: try h.read(out), reference: (0..<count).map { Double(g[$0] * table.levels[Int(codes[$0])]) })
                })
            }
        }
        cases += reGELU2Cases()
        for (bits, activation) in [(1, Activation.relu), (3, .gelu), (5, .silu), (8, .tanh)] {
            cases.append(ConformanceCase(.matmul, "matmul+bias+\(activation) fused \(bits)-bit codes", shapeClass: "tile+1",
                                         shape: "[33, 17] x [17, 65]", values: "normal", bound: activationBound) { (h) throws(TensorError) in
                let (m, n, k) = (33, 65, 17)
                let table = try FewBitTable.optimal(for: activation, bits: bits)
                let a = h.values(m * k, "normal"), b = h.values(k * n, "normal"), bias = h.values(n, "normal")
                let out = try h.output(m * n), pre = try h.output(m * n)
                let codes = try h.output(FewBitCodes.packedWordCount(count: m * n, bits: bits))
                try h.run(.matmul(a: try h.input(a), b: try h.input(b), c: out.buffer, geometry: MatmulGeometry(m: m, n: n, k: k),
                                  epilogue: MatmulEpilogue(bias: try h.input(bias), activation: activation, preActivation: pre.buffer,
                                                           fewBit: FewBitOutput(codes: codes.buffer, table: table))))
                let z = try h.read(pre)
                let decoded = FewBitCodes.unpack(try h.read(codes).map(\.bitPattern), count: m * n, bits: bits).map(Float.init)
                var reference = References.matmul(a, b, MatmulGeometry(m: m, n: n, k: k))
                reference = reference.enumerated().map { activation.forward($0.element + Double(bias[$0.offset % n])) }
                // The codes must be those of the pre-activation values the kernel itself produced.
                return .init(actual: try h.read(out) + decoded, reference: reference + z.map { Double(table.code(for: $0)) })
            })
        }
        return cases
    }

    /// Approx-BP's ReGELU2 (``FewBitTable/reGELU2``) held to its published float64 definition:
    /// forward GELU with code = #{i : x > c_i} (inputs on and next to the float32 borders),
    /// backward gradOut * sum_i a_i [x > c_i], the a_i summed in float64.
    static func reGELU2Cases() -> [ConformanceCase] {
        let c: [Double] = [-3.1858810036855245, -0.001178821281161997, 3.190832613414926]
        let a: [Double] = [-0.04922261145617846, 1.0979632065417297, -0.048740595085551286]
        @Sendable func code(_ x: Float) -> Int { c.filter { Double(x) > Double(Float($0)) }.count }
        @Sendable func level(_ x: Float) -> Double { zip(a, c).reduce(0) { $0 + (Double(x) > Double(Float($1.1)) ? $1.0 : 0) } }
        @Sendable func inputs(_ h: Harness, _ count: Int) -> [Float] {
            var x = h.values(count, "normal", scale: 3)
            let borders = c.map { Float($0) }
            for i in stride(from: 0, to: count, by: 4) {
                let border = borders[(i / 4) % 3]
                x[i] = [border, border.nextUp, border.nextDown][(i / 12) % 3]
            }
            return x
        }
        var cases: [ConformanceCase] = []
        for (count, shapeClass) in [(1, "1"), (37, "prime"), (4099, "large")] {
            cases.append(ConformanceCase(.activateFewBit, "activateFewBit gelu ReGELU2", shapeClass: shapeClass,
                                         shape: "[\(count)]", values: "normal+borders", bound: activationBound) { (h) throws(TensorError) in
                let x = inputs(h, count)
                let out = try h.output(count)
                let codes = try h.output(FewBitCodes.packedWordCount(count: count, bits: 2))
                try h.run(.activateFewBit(.gelu, input: try h.input(x), count: count, output: out.buffer,
                                          fewBit: FewBitOutput(codes: codes.buffer, table: .reGELU2)))
                let decoded = FewBitCodes.unpack(try h.read(codes).map(\.bitPattern), count: count, bits: 2).map(Float.init)
                return .init(actual: try h.read(out) + decoded,
                             reference: x.map { Activation.gelu.forward(Double($0)) } + x.map { Double(code($0)) })
            })
            cases.append(ConformanceCase(.fewBitBackward, "fewBitBackward gelu ReGELU2", shapeClass: shapeClass,
                                         shape: "[\(count)]", values: "normal+borders", bound: activationBound) { (h) throws(TensorError) in
                let x = inputs(h, count)
                let codes = x.map { UInt8(code($0)) }
                let words = FewBitCodes.pack(codes, bits: 2).map { Float(bitPattern: $0) }
                let g = h.values(count, "normal")
                let out = try h.output(count)
                try h.run(.fewBitBackward(FewBitOutput(codes: try h.input(words), table: .reGELU2), gradOutput: try h.input(g),
                                          count: count, gradInput: out.buffer))
                return .init(actual: try h.read(out), reference: x.indices.map { Double(g[$0]) * level(x[$0]) })
            })
        }
        return cases
    }
}
