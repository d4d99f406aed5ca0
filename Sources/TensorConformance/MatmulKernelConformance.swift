import TensorCore

/// Shapes that drive the Vulkan backend's matrix-product kernel choices, held like every
/// other case to the float64 reference on every backend.
///
/// - split-K: a long K (odd ones too) over one or a few output tiles, which the Vulkan
///   backend splits across workgroups and reduces with the epilogue (plain, bias +
///   activation with pre-activation values, few-bit codes, 16-bit storage);
/// - matrix-vector: M = 1...4 with B transposed (the subgroup kernel on devices with subgroup
///   arithmetic, lavapipe included) and row-major (the shared-memory kernel), plain, batched
///   and with the epilogue.
extension ConformanceTable {
    static func matmulKernelCases() -> [ConformanceCase] {
        var cases: [ConformanceCase] = []
        let layouts = [(false, false), (true, false), (false, true), (true, true)]
        let splitShapes = [("split-K", 8, 16, 4096), ("split-K odd K", 8, 16, 4097), ("split-K odd", 5, 33, 3001),
                           ("split-K aligned", 32, 32, 2048)]
        for (shapeClass, m, n, k) in splitShapes {
            for (ta, tb) in layouts {
                let label = (ta ? "transposed A " : "") + (tb ? "transposed B " : "") + shapeClass
                cases.append(matmulCase(label, MatmulGeometry(m: m, n: n, k: k, transposeA: ta, transposeB: tb), values: "normal"))
            }
        }
        for activation in [Activation.identity, .gelu, .relu] {
            cases.append(matmulCase("split-K odd K", MatmulGeometry(m: 8, n: 16, k: 4097), values: "normal", epilogue: activation))
            cases.append(matmulCase("matvec transposed B", MatmulGeometry(m: 3, n: 129, k: 31, transposeB: true), values: "normal",
                                    epilogue: activation))
        }
        cases.append(fewBitMatmulCase("split-K odd K", m: 8, n: 16, k: 4097, transposeB: false))
        cases.append(fewBitMatmulCase("matvec transposed B", m: 3, n: 65, k: 33, transposeB: true))

        for m in 1...4 {
            for (n, k) in [(257, 1000), (33, 4097)] {
                for (ta, tb) in layouts {
                    let label = (ta ? "transposed A " : "") + (tb ? "transposed B " : "") + "matvec M=\(m)"
                    cases.append(matmulCase(label, MatmulGeometry(m: m, n: n, k: k, transposeA: ta, transposeB: tb),
                                            values: "normal"))
                }
            }
        }
        cases.append(matmulCase("batched matvec transposed B",
                                MatmulGeometry(m: 2, n: 65, k: 129, batch: 3, transposeB: true, batchStrideB: 0), values: "normal"))
        cases.append(matmulCase("batched matvec transposed B",
                                MatmulGeometry(m: 4, n: 7, k: 300, batch: 2, transposeA: true, transposeB: true), values: "normal"))

        let typeSets: [OperandTypes] = [
            OperandTypes(a: .float16, b: .float16, c: .float16),
            OperandTypes(a: .bfloat16, b: .float32, c: .bfloat16),
        ]
        for types in typeSets {
            var split = MatmulGeometry(m: 8, n: 16, k: 4097)
            split.types = types
            cases.append(storageMatmulCase("split-K odd K", split, activation: nil))
            cases.append(storageMatmulCase("split-K odd K", split, activation: .gelu))
            var matvec = MatmulGeometry(m: 3, n: 129, k: 31, transposeB: true)
            matvec.types = types
            cases.append(storageMatmulCase("matvec transposed B", matvec, activation: nil))
            cases.append(storageMatmulCase("matvec transposed B", matvec, activation: .gelu))
        }
        return cases
    }

    /// matmul + bias + GELU with pre-activation values and 3-bit codes (which straddle words):
    /// the codes must be those of the pre-activation values the kernel itself produced.
    static func fewBitMatmulCase(_ shapeClass: String, m: Int, n: Int, k: Int, transposeB: Bool) -> ConformanceCase {
        let g = MatmulGeometry(m: m, n: n, k: k, transposeB: transposeB)
        return ConformanceCase(.matmul, "matmul+bias+gelu fused 3-bit codes", shapeClass: shapeClass,
                               shape: "[\(m), \(k)] x [\(k), \(n)]\(transposeB ? "T" : "")", values: "normal",
                               bound: activationBound) { (h) throws(TensorError) in
            let bits = 3, activation = Activation.gelu
            let table = try FewBitTable.optimal(for: activation, bits: bits)
            let a = h.values(m * k, "normal"), b = h.values(k * n, "normal"), bias = h.values(n, "normal")
            let out = try h.output(m * n), pre = try h.output(m * n)
            let codes = try h.output(FewBitCodes.packedWordCount(count: m * n, bits: bits))
            try h.run(.matmul(a: try h.input(a), b: try h.input(b), c: out.buffer, geometry: g,
                              epilogue: MatmulEpilogue(bias: try h.input(bias), activation: activation, preActivation: pre.buffer,
                                                       fewBit: FewBitOutput(codes: codes.buffer, table: table))))
            let z = try h.read(pre)
            let decoded = FewBitCodes.unpack(try h.read(codes).map(\.bitPattern), count: m * n, bits: bits).map(Float.init)
            let reference = References.matmul(a, b, g).enumerated().map { activation.forward($0.element + Double(bias[$0.offset % n])) }
            let preReference = References.matmul(a, b, g).enumerated().map { $0.element + Double(bias[$0.offset % n]) }
            return .init(actual: try h.read(out) + z + decoded,
                         reference: reference + preReference + z.map { Double(table.code(for: $0)) })
        }
    }
}
