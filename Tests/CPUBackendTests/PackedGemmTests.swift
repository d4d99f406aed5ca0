@testable import CPUBackend
import CPUKernels
import TensorCore
import Testing

/// The packed C GEMM (`te_sgemm`, GemmBody.h) on every path this CPU runs, against the float64
/// definition (``referenceProduct(_:_:_:)``): shapes that are not multiples of the 12 x 32 /
/// 6 x 16 register tiles or the 192-deep / 240-row / 2048-column blocks, k = 1, transposed A
/// and B, and C computed in two row ranges (as two threads would). A path this CPU cannot run
/// is skipped, and the skip says what the CPU lacks.
@Suite("Packed GEMM (te_sgemm)")
struct PackedGemmTests {
    static let noAVX512 = Comment(rawValue: CPUISA.avx512.unsupportedReason ?? "")
    static let noAVX2 = Comment(rawValue: CPUISA.avx2.unsupportedReason ?? "")

    static let shapes: [(m: Int, n: Int, k: Int)] = [
        (1, 1, 1), (7, 31, 257), (31, 7, 1), (33, 257, 65), (257, 33, 19), (13, 45, 70),
        (1, 257, 31), (250, 2100, 200), (37, 65, 400), (24, 64, 192), (241, 33, 385),
    ]

    static var cases: [MatmulCase] {
        shapes.flatMap { s in
            [(false, false), (true, false), (false, true), (true, true)].map { ta, tb in
                MatmulCase(m: s.m, n: s.n, k: s.k, ta: ta, tb: tb)
            }
        }
    }

    @Test("AVX-512 matches the float64 product", .enabled(if: CPUISA.avx512.isSupported, noAVX512),
          arguments: cases)
    func avx512(_ c: MatmulCase) { Self.check(c, isa: .avx512) }

    @Test("AVX2 matches the float64 product", .enabled(if: CPUISA.avx2.isSupported, noAVX2), arguments: cases)
    func avx2(_ c: MatmulCase) { Self.check(c, isa: .avx2) }

    @Test("the portable path and bad arguments leave C untouched; k = 0 gives zeros")
    func refusals() {
        let a: [Float] = [1, 2, 3, 4, 5, 6], b: [Float] = [1, 0, 0, 1, 1, 1]
        for isa in CPUISA.allCases {
            var c = [Float](repeating: .nan, count: 4)
            let calls: [(String, Int32)] = [
                ("rows past m", te_sgemm(isa.rawValue, 0, 0, 2, 2, 3, a, 3, b, 2, &c, 2, 0, 3)),
                ("reversed rows", te_sgemm(isa.rawValue, 0, 0, 2, 2, 3, a, 3, b, 2, &c, 2, 2, 1)),
                ("short lda", te_sgemm(isa.rawValue, 0, 0, 2, 2, 3, a, 2, b, 2, &c, 2, 0, 2)),
                ("short ldb (B transposed)", te_sgemm(isa.rawValue, 0, 1, 2, 2, 3, a, 3, b, 2, &c, 2, 0, 2)),
                ("short ldc", te_sgemm(isa.rawValue, 0, 0, 2, 2, 3, a, 3, b, 2, &c, 1, 0, 2)),
                ("negative k", te_sgemm(isa.rawValue, 0, 0, 2, 2, -1, a, 3, b, 2, &c, 2, 0, 2)),
            ]
            for (what, result) in calls { #expect(result == 0, "\(isa): \(what) accepted") }
            #expect(c.allSatisfy { $0.isNaN }, "\(isa): a refused call wrote C")
            let zeros = te_sgemm(isa.rawValue, 0, 0, 2, 2, 0, nil, 1, nil, 2, &c, 2, 0, 2)
            if isa == .portable || !isa.isSupported {
                #expect(zeros == 0)
            } else {
                #expect(zeros == 1 && c == [0, 0, 0, 0], "\(isa): k = 0 gave \(c)")
            }
        }
    }

    /// C in two row ranges on `isa` against the float64 product, each element within the
    /// float32 rounding bound of a k-term sum of products.
    static func check(_ c: MatmulCase, isa: CPUISA) {
        var rng = SplitMix(seed: UInt64(c.m * 7919 + c.n * 31 + c.k))
        let g = c.geometry
        let a = rng.floats(g.m * g.k), b = rng.floats(g.k * g.n)
        var out = [Float](repeating: .nan, count: g.m * g.n)
        let split = g.m / 3
        for rows in [0..<split, split..<g.m] {
            let done = te_sgemm(isa.rawValue, g.transposeA ? 1 : 0, g.transposeB ? 1 : 0, g.m, g.n, g.k,
                                a, g.leadingDimensionA, b, g.leadingDimensionB, &out, g.n,
                                rows.lowerBound, rows.upperBound)
            #expect(done == 1, "\(isa) \(c) rows \(rows): refused")
        }
        let reference = referenceProduct(a, b, g)
        let magnitude = referenceProduct(a.map(Swift.abs), b.map(Swift.abs), g)
        var failures = 0
        for i in reference.indices {
            // A k-term float32 dot product is within k * eps * sum |a_p b_p| of the exact one.
            let error = Swift.abs(Double(out[i]) - reference[i])
            let bound = Double(g.k) * Double(Float.ulpOfOne) * magnitude[i]
            if !(error <= bound) {
                failures += 1
                if failures <= 3 {
                    Issue.record("\(isa) \(c): C[\(i / g.n), \(i % g.n)] = \(out[i]), float64 \(reference[i]), bound \(bound)")
                }
            }
        }
        #expect(failures == 0, "\(isa) \(c): \(failures) of \(reference.count) elements outside the bound")
    }
}
