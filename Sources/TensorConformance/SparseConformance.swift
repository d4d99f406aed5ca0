import TensorCore

/// Conformance of the activation-sparse operations: the sparse product equals the dense
/// product of the thresholded input (float64 reference) within the matmul bound, on every
/// path, for 0% to 100% sparsity, scalar and per-channel thresholds, 1, primes and tiles.
extension ConformanceTable {
    /// (class, rows B, inner K, columns N).
    static let sparseShapes: [(String, Int, Int, Int)] = [
        ("1", 1, 1, 1), ("matvec prime", 1, 257, 129), ("prime", 7, 31, 257), ("tile+1", 3, 65, 17),
        ("tile-1", 5, 127, 31), ("batch tile", 16, 64, 48), ("non-square", 4, 300, 3), ("k=0", 2, 0, 5),
        ("empty", 0, 9, 7),
        // Several column panels and listed-row chunks of the CPU's union GEMM (256 x 256), a
        // 6-row tile remainder and a column tail, split across cores.
        ("panels", 13, 600, 530),
    ]

    /// How x is made sparse: (name, fraction of exact zeros, scalar threshold, per-channel thresholds).
    static let sparsityClasses: [(name: String, zeros: Double, threshold: Float, perChannel: Bool)] = [
        ("0%", 0, 0, false), ("90% zeros", 0.9, 0, false), ("100% zeros", 1, 0, false),
        ("threshold 0.7", 0, 0.7, false), ("all below threshold", 0, 1e9, false), ("per-channel", 0.3, 0, true),
    ]

    static func sparseCases() -> [ConformanceCase] {
        var cases: [ConformanceCase] = []
        for (shapeClass, b, k, n) in sparseShapes {
            for sparsity in sparsityClasses {
                for mode in SparseMode.allCases {
                    cases.append(sparseMatmulCase(shapeClass, b, k, n, sparsity, mode))
                }
                cases.append(sparseCountCase(shapeClass, b, k, sparsity))
            }
        }
        // Shared mask over a batch: the union equals each row's set.
        cases.append(sparseMatmulCase("shared mask", 9, 129, 65, ("90% zeros", 0.9, 0, false), .unionOverBatch, sharedMask: true))
        for (shapeClass, b, k, n) in [("1", 1, 1, 1), ("matvec prime", 1, 257, 131), ("prime", 7, 67, 31),
                                      ("tile+1", 5, 129, 65), ("empty", 0, 9, 7), ("k=0", 2, 0, 5)] {
            for list in ["all", "none", "random", "duplicates"] {
                for activation in [Activation.identity, .relu, .gelu] {
                    cases.append(outputSparseCase(shapeClass, b, k, n, list: list, activation: activation))
                }
            }
        }
        return cases
    }

    /// x [b, k] with the class's zeros, the scalar or per-channel thresholds, and x~ (the thresholded x).
    static func sparseInput(_ h: Harness, _ b: Int, _ k: Int, zeros: Double, threshold: Float, perChannel: Bool,
                            sharedMask: Bool) -> (x: [Float], thresholds: [Float], kept: [Float]) {
        var x = h.values(b * k, "normal")
        var mask = [Bool](repeating: false, count: k)
        for r in 0..<b {
            if r == 0 || !sharedMask { mask = (0..<k).map { _ in h.rng.nextUniform() < zeros } }
            for c in 0..<k where mask[c] || zeros >= 1 { x[r * k + c] = 0 }
        }
        let thresholds = perChannel ? (0..<k).map { _ in Float(h.rng.nextUniform()) * 1.5 } : [Float](repeating: threshold, count: k)
        let kept = x.indices.map { i in abs(x[i]) <= thresholds[i % k] ? 0 : x[i] }
        return (x, thresholds, kept)
    }

    static func sparseMatmulCase(_ shapeClass: String, _ b: Int, _ k: Int, _ n: Int,
                                 _ sparsity: (name: String, zeros: Double, threshold: Float, perChannel: Bool),
                                 _ mode: SparseMode, sharedMask: Bool = false) -> ConformanceCase {
        ConformanceCase(.sparseMatmul, "sparseMatmul \(mode)", shapeClass: shapeClass, shape: "[\(b), \(k)] x [\(k), \(n)]",
                        values: sparsity.name, bound: matmulBound) { (h) throws(TensorError) in
            let input = sparseInput(h, b, k, zeros: sparsity.zeros, threshold: sparsity.threshold,
                                    perChannel: sparsity.perChannel, sharedMask: sharedMask)
            let w = h.values(k * n, "normal")
            let threshold: SparseThreshold = sparsity.perChannel ? .perChannel(try h.input(input.thresholds)) : .scalar(sparsity.threshold)
            let out = try h.output(b * n)
            try h.run(.sparseMatmul(x: try h.input(input.x), w: try h.input(w), y: out.buffer, rows: b, inner: k,
                                    columns: n, threshold: threshold, mode: mode))
            return .init(actual: try h.read(out), reference: References.matmul(input.kept, w, MatmulGeometry(m: b, n: n, k: k)))
        }
    }

    static func sparseCountCase(_ shapeClass: String, _ b: Int, _ k: Int,
                                _ sparsity: (name: String, zeros: Double, threshold: Float, perChannel: Bool)) -> ConformanceCase {
        ConformanceCase(.sparseActiveCounts, "sparseActiveCounts", shapeClass: shapeClass, shape: "[\(b), \(k)]",
                        values: sparsity.name, bound: exactBound) { (h) throws(TensorError) in
            let input = sparseInput(h, b, k, zeros: sparsity.zeros, threshold: sparsity.threshold,
                                    perChannel: sparsity.perChannel, sharedMask: false)
            let threshold: SparseThreshold = sparsity.perChannel ? .perChannel(try h.input(input.thresholds)) : .scalar(sparsity.threshold)
            let out = try h.output(b + 1)
            try h.run(.sparseActiveCounts(x: try h.input(input.x), rows: b, inner: k, threshold: threshold, counts: out.buffer))
            var reference = [Double](repeating: 0, count: b + 1)
            var union = [Bool](repeating: false, count: k)
            for r in 0..<b {
                for c in 0..<k where input.kept[r * k + c] != 0 {
                    reference[r] += 1
                    union[c] = true
                }
            }
            reference[b] = Double(union.filter { $0 }.count)
            // The counts are int32: reinterpret the bits read back.
            let counts = try h.read(out).map { Float(Int32(bitPattern: $0.bitPattern)) }
            return .init(actual: counts, reference: reference)
        }
    }

    static func outputSparseCase(_ shapeClass: String, _ b: Int, _ k: Int, _ n: Int, list: String,
                                 activation: Activation) -> ConformanceCase {
        let bound = activation == .gelu ? activationBound : matmulBound
        return ConformanceCase(.outputSparseMatmul, "outputSparseMatmul+bias+\(activation)", shapeClass: shapeClass,
                               shape: "[\(b), \(k)] x [\(n), \(k)]T", values: "rows \(list)",
                               bound: bound) { (h) throws(TensorError) in
            let x = h.values(b * k, "normal"), w = h.values(n * k, "normal"), bias = h.values(n, "normal")
            var active: [Int32]
            switch list {
            case "all": active = (0..<n).map { Int32($0) }.reversed()
            case "none": active = []
            case "duplicates": active = (0..<n).filter { $0 % 3 == 0 }.flatMap { [Int32($0), Int32($0)] }
            default: active = (0..<n).filter { _ in h.rng.nextUniform() < 0.3 }.map { Int32($0) }
            }
            let activeBuffer = try h.input(active.map { Float(bitPattern: UInt32(bitPattern: $0)) })
            let out = try h.output(b * n), pre = try h.output(b * n)
            try h.run(.outputSparseMatmul(x: try h.input(x), w: try h.input(w), activeRows: activeBuffer,
                                          activeCount: active.count, y: out.buffer, rows: b, inner: k, columns: n,
                                          epilogue: MatmulEpilogue(bias: try h.input(bias), activation: activation,
                                                                   preActivation: pre.buffer)))
            var reference = [Double](repeating: 0, count: 2 * b * n)
            for index in Set(active.map(Int.init)) {
                for r in 0..<b {
                    var acc = Double(bias[index])
                    for c in 0..<k { acc += Double(x[r * k + c]) * Double(w[index * k + c]) }
                    reference[r * n + index] = activation.forward(acc)
                    reference[b * n + r * n + index] = acc
                }
            }
            return .init(actual: try h.read(out) + h.read(pre), reference: reference)
        }
    }
}
