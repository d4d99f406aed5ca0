import Testing
import TensorCore
@testable import VulkanBackend

/// float64 reference of ``MatmulGeometry`` plus the epilogue; returns (output, preActivation).
func referenceMatmul(_ a: [Float], _ b: [Float], _ g: MatmulGeometry, bias: [Float]?,
                     activation: Activation) -> (out: [Double], pre: [Double]) {
    var out = [Double](repeating: 0, count: g.batch * g.m * g.n)
    var pre = out
    for batch in 0..<g.batch {
        for i in 0..<g.m {
            for j in 0..<g.n {
                var sum = 0.0
                for p in 0..<g.k {
                    let av = g.transposeA ? a[batch * g.batchStrideA + p * g.m + i] : a[batch * g.batchStrideA + i * g.k + p]
                    let bv = g.transposeB ? b[batch * g.batchStrideB + j * g.k + p] : b[batch * g.batchStrideB + p * g.n + j]
                    sum += Double(av) * Double(bv)
                }
                if let bias { sum += Double(bias[j]) }
                pre[(batch * g.m + i) * g.n + j] = sum
                out[(batch * g.m + i) * g.n + j] = activation.forward(sum)
            }
        }
    }
    return (out, pre)
}

extension VulkanTests {
    @Suite struct Matmul {
        struct Case: Sendable, CustomStringConvertible {
            var m: Int, n: Int, k: Int
            var batch = 1
            var transposeA = false
            var transposeB = false
            var broadcastA = false
            var broadcastB = false
            var kernel: String? = nil

            var description: String {
                "\(m)x\(n)x\(k) b\(batch)\(transposeA ? " At" : "")\(transposeB ? " Bt" : "")"
                    + "\(broadcastA ? " A0" : "")\(broadcastB ? " B0" : "") \(kernel ?? "auto")"
            }

            var geometry: MatmulGeometry {
                MatmulGeometry(m: m, n: n, k: k, batch: batch, transposeA: transposeA, transposeB: transposeB,
                               batchStrideA: broadcastA ? 0 : m * k, batchStrideB: broadcastB ? 0 : k * n)
            }
        }

        static let cases: [Case] = [
            Case(m: 1, n: 1, k: 1),
            Case(m: 7, n: 31, k: 257),
            Case(m: 31, n: 7, k: 1),
            Case(m: 33, n: 65, k: 17),
            Case(m: 64, n: 64, k: 64, kernel: "medium"),   // aligned
            Case(m: 63, n: 65, k: 15, kernel: "medium"),   // one short / past
            Case(m: 64, n: 64, k: 64),
            Case(m: 63, n: 65, k: 15),
            Case(m: 128, n: 128, k: 16, kernel: "cpuLarge"),  // aligned
            Case(m: 64, n: 128, k: 16, kernel: "cpuLarge"),
            Case(m: 65, n: 127, k: 9, kernel: "cpuLarge"),
            Case(m: 63, n: 129, k: 20, transposeA: true, transposeB: true, kernel: "cpuLarge"),
            Case(m: 33, n: 31, k: 5, batch: 2, transposeB: true, kernel: "cpuSmall"),
            Case(m: 40, n: 70, k: 33, transposeA: true, transposeB: true, kernel: "medium"),
            Case(m: 64, n: 64, k: 32, transposeA: true, transposeB: true, kernel: "medium"),  // aligned
            Case(m: 128, n: 128, k: 16, batch: 2, transposeB: true, broadcastB: true, kernel: "large"),
            Case(m: 32, n: 64, k: 16, batch: 3, transposeA: true, broadcastA: true, kernel: "small"),
            Case(m: 128, n: 128, k: 64, kernel: "large"),  // aligned
            Case(m: 129, n: 127, k: 9, kernel: "large"),
            Case(m: 32, n: 32, k: 8, kernel: "small"),
            Case(m: 33, n: 31, k: 9, kernel: "small"),
            Case(m: 5, n: 9, k: 3, kernel: "naive"),
            Case(m: 20, n: 24, k: 16, transposeA: true),
            Case(m: 20, n: 24, k: 16, transposeB: true),
            Case(m: 65, n: 70, k: 33, transposeA: true, transposeB: true),
            Case(m: 17, n: 19, k: 23, batch: 3),
            Case(m: 17, n: 19, k: 23, batch: 3, transposeB: true, broadcastB: true),
            Case(m: 9, n: 11, k: 5, batch: 2, transposeA: true, broadcastA: true),
            Case(m: 40, n: 40, k: 0),
            // matrix-vector: M <= 4
            Case(m: 1, n: 257, k: 300),
            Case(m: 3, n: 31, k: 1000, transposeB: true),
            Case(m: 4, n: 129, k: 65, transposeA: true),
            Case(m: 2, n: 5, k: 7, batch: 4, broadcastB: true),
        ]

        func run(_ testCase: Case, bias useBias: Bool, activation: Activation, pre usePre: Bool) throws {
            let device = try Fixture.device
            let g = testCase.geometry
            var random = TestRandom(seed: UInt64(g.m * 1000 + g.n * 10 + g.k))
            let aCount = g.batchStrideA == 0 ? g.m * g.k : g.batch * g.m * g.k
            let bCount = g.batchStrideB == 0 ? g.k * g.n : g.batch * g.k * g.n
            let aValues = random.floats(aCount)
            let bValues = random.floats(bCount)
            let biasValues = useBias ? random.floats(g.n) : nil
            let a = try device.upload(aValues)
            let b = try device.upload(bValues)
            let bias = try biasValues.map { try device.upload($0) }
            let count = g.batch * g.m * g.n
            let c = try device.upload([Float](repeating: .nan, count: count))
            let pre = usePre ? try device.upload([Float](repeating: .nan, count: count)) : nil
            let epilogue = MatmulEpilogue(bias: bias, activation: activation, preActivation: pre)
            let kernel: MatmulKernelChoice
            switch testCase.kernel {
            case "large": kernel = .tiled(.large, aligned: MatmulTileConfig.large.isAligned(g))
            case "small": kernel = .tiled(.small, aligned: MatmulTileConfig.small.isAligned(g))
            case "medium": kernel = .tiled(.medium, aligned: MatmulTileConfig.medium.isAligned(g))
            case "cpuLarge": kernel = .tiled(.cpuLarge, aligned: MatmulTileConfig.cpuLarge.isAligned(g))
            case "cpuSmall": kernel = .tiled(.cpuSmall, aligned: MatmulTileConfig.cpuSmall.isAligned(g))
            case "naive": kernel = .naive
            default: kernel = MatmulKernelChoice.choose(g, device: device.matmulProfile)
            }
            try device.matmul(a, b, into: c, geometry: g, epilogue: epilogue, kernel: kernel)
            let expected = referenceMatmul(aValues, bValues, g, bias: biasValues, activation: activation)
            let label = "\(testCase) bias=\(useBias) \(activation) kernel=\(kernel)"
            expectClose(try device.download(c, count: count), expected.out, nmse: 1e-11, maxError: 1e-5, label)
            if let pre {
                expectClose(try device.download(pre, count: count), expected.pre, nmse: 1e-11, maxError: 1e-5, label + " pre")
            }
            Fixture.expectNoValidationMessages()
        }

        @Test(arguments: cases)
        func plain(testCase: Case) throws {
            try run(testCase, bias: false, activation: .identity, pre: false)
        }

        @Test(arguments: [Case(m: 33, n: 65, k: 17), Case(m: 2, n: 37, k: 40), Case(m: 64, n: 64, k: 16)],
              [Activation.gelu, .relu, .silu])
        func fusedEpilogue(testCase: Case, activation: Activation) throws {
            try run(testCase, bias: true, activation: activation, pre: true)
        }

        /// The epilogue's outputs are specialisation constants of one module per kernel, not
        /// compiled variants: every combination of pre-activation and few-bit codes, run in
        /// turn on one device (so a pipeline cached for one combination and reused for another
        /// would show), writes its outputs, and a switched-off output, whose slot holds the
        /// product's own output buffer, leaves that output intact.
        @Test(arguments: [Case(m: 3, n: 37, k: 40), Case(m: 33, n: 65, k: 17), Case(m: 5, n: 9, k: 3, kernel: "naive")])
        func epilogueOutputsAreConstants(testCase: Case) throws {
            let device = try Fixture.device
            let g = testCase.geometry
            let table = try FewBitTable.optimal(for: .gelu, bits: 3)   // 3-bit codes straddle words
            var random = TestRandom(seed: UInt64(g.m * 1000 + g.n * 10 + g.k))
            let aValues = random.floats(g.m * g.k), bValues = random.floats(g.k * g.n), biasValues = random.floats(g.n)
            let a = try device.upload(aValues), b = try device.upload(bValues), bias = try device.upload(biasValues)
            let kernel: MatmulKernelChoice = testCase.kernel == "naive"
                ? .naive : MatmulKernelChoice.choose(g, device: device.matmulProfile)
            let expected = referenceMatmul(aValues, bValues, g, bias: biasValues, activation: .gelu)
            let count = g.m * g.n
            let words = FewBitCodes.packedWordCount(count: count, bits: table.bits)
            for (usePre, useCodes) in [(false, false), (true, true), (false, true), (true, false), (false, false)] {
                let label = "\(testCase) kernel=\(kernel) pre=\(usePre) codes=\(useCodes)"
                let c = try device.upload([Float](repeating: .nan, count: count))
                let pre = usePre ? try device.upload([Float](repeating: .nan, count: count)) : nil
                // All ones: the matmul must zero the codes before OR-ing them in.
                let codes = useCodes ? try device.upload([Float](repeating: Float(bitPattern: ~0), count: words)) : nil
                let epilogue = MatmulEpilogue(bias: bias, activation: .gelu, preActivation: pre,
                                              fewBit: codes.map { FewBitOutput(codes: $0, table: table) })
                try device.matmul(a, b, into: c, geometry: g, epilogue: epilogue, kernel: kernel)
                expectClose(try device.download(c, count: count), expected.out, nmse: 1e-11, maxError: 1e-5, label)
                if let pre {
                    expectClose(try device.download(pre, count: count), expected.pre, nmse: 1e-11, maxError: 1e-5,
                                label + " pre")
                }
                if let codes {
                    let packed = try device.download(codes, count: words).map(\.bitPattern)
                    let decoded = FewBitCodes.unpack(packed, count: count, bits: table.bits)
                    for (index, code) in decoded.enumerated() {
                        // The device rounds acc + bias differently from the float64 reference:
                        // a code may differ only for a value within rounding of a border.
                        let x = Float(expected.pre[index])
                        let nearBorder = table.borders.contains { abs($0 - x) <= 1e-5 }
                        #expect(Int(code) == table.code(for: x) || nearBorder, "\(label) code \(index)")
                    }
                }
                Fixture.expectNoValidationMessages()
            }
        }

        @Test func biasOnly() throws {
            try run(Case(m: 31, n: 33, k: 7, batch: 2), bias: true, activation: .identity, pre: false)
        }

        @Test func tileConfigurationsAreValid() {
            for config in MatmulTileConfig.candidates {
                #expect(config.isValid, "\(config)")
            }
            #expect(!MatmulTileConfig(bm: 64, bn: 64, bk: 8, tm: 2, tn: 2).isValid)
        }
    }
}
