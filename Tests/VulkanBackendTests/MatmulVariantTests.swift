import Testing
import TensorCore
@testable import VulkanBackend

extension VulkanTests {
    /// Every kernel the choice can return, forced on the test device whatever the device
    /// itself would choose: every candidate tile (ragged edges and the aligned variant),
    /// split-K with its epilogues, and both matrix-vector kernels, against float64.
    @Suite struct MatmulVariants {
        struct Forced: Sendable, CustomStringConvertible {
            var label: String
            var geometry: MatmulGeometry
            var kernel: MatmulKernelChoice
            var description: String { "\(label) \(geometry.m)x\(geometry.n)x\(geometry.k) b\(geometry.batch) \(kernel)" }
        }

        /// Per candidate tile: one past / short of the tile in M and N with an odd K, transposed,
        /// batched with B broadcast, and the aligned variant on two by two tiles.
        static let tileCases: [Forced] = MatmulTileConfig.candidates.flatMap { config -> [Forced] in
            let ragged = MatmulGeometry(m: config.bm + 3, n: config.bn - 5, k: 2 * config.bk + 1)
            let transposed = MatmulGeometry(m: config.bm - 1, n: config.bn + 7, k: 3 * config.bk - 1,
                                            transposeA: true, transposeB: true)
            let batched = MatmulGeometry(m: 9, n: config.bn + 1, k: config.bk + 3, batch: 2, transposeB: true,
                                         batchStrideB: 0)
            let aligned = MatmulGeometry(m: 2 * config.bm, n: 2 * config.bn, k: 3 * config.bk)
            return [("ragged", ragged), ("transposed", transposed), ("batched", batched), ("aligned", aligned)].map {
                Forced(label: $0.0, geometry: $0.1, kernel: .tiled(config, aligned: config.isAligned($0.1)))
            }
        }

        static func splitK(_ label: String, _ g: MatmulGeometry, _ config: MatmulTileConfig, splits: Int) -> Forced {
            Forced(label: label, geometry: g,
                   kernel: .splitK(config, aligned: config.isAligned(g), split: MatmulSplitK(k: g.k, splits: splits, bk: config.bk)))
        }

        static let splitCases: [Forced] = [
            splitK("issue shape", MatmulGeometry(m: 8, n: 16, k: 4096), .cpuSmall, splits: 8),
            splitK("odd K", MatmulGeometry(m: 8, n: 16, k: 4097), .cpuSmall, splits: 3),
            splitK("odd K staged", MatmulGeometry(m: 8, n: 16, k: 1031), .small, splits: 5),
            splitK("transposed", MatmulGeometry(m: 37, n: 45, k: 1031, transposeA: true, transposeB: true), .medium, splits: 4),
            splitK("aligned", MatmulGeometry(m: 32, n: 32, k: 1024), .small, splits: 4),
            splitK("aligned unstaged", MatmulGeometry(m: 32, n: 64, k: 512), .cpuSmall, splits: 2),
            splitK("large tile", MatmulGeometry(m: 130, n: 120, k: 700), .nvidiaLarge, splits: 3),
            splitK("short last part", MatmulGeometry(m: 3 + 4, n: 9, k: 33), .small, splits: 4),
        ]

        static let matvecCases: [Forced] = [MatmulKernelChoice.matvec, .matvecSubgroup].flatMap { kernel in
            [
                MatmulGeometry(m: 1, n: 257, k: 300, transposeB: true),
                MatmulGeometry(m: 3, n: 31, k: 1000, transposeB: true),
                MatmulGeometry(m: 4, n: 129, k: 65, transposeA: true, transposeB: true),
                MatmulGeometry(m: 2, n: 5, k: 7, batch: 4, transposeB: true, batchStrideB: 0),
                MatmulGeometry(m: 1, n: 3, k: 1),
                MatmulGeometry(m: 4, n: 65, k: 129),
                MatmulGeometry(m: 2, n: 33, k: 4097, transposeA: true),
            ].map { Forced(label: "matvec", geometry: $0, kernel: kernel) }
        }

        func run(_ forced: Forced, bias useBias: Bool, activation: Activation, pre usePre: Bool) throws {
            let device = try Fixture.device
            var config: MatmulTileConfig?
            switch forced.kernel {
            case let .tiled(tile, _), let .splitK(tile, _, _): config = tile
            default: config = nil
            }
            if forced.kernel == .matvecSubgroup, !device.enabledFeatures.contains(.subgroupArithmetic) {
                print("note: \(device.name) has no subgroup arithmetic; the subgroup kernel is refused instead")
                #expect(throws: TensorError.self) { try runOnDevice(device, forced, useBias, activation, usePre) }
                return
            }
            if let config, !config.fits(device.matmulProfile) {
                print("note: \(device.name) cannot hold tile \(config); it is refused instead")
                #expect(throws: TensorError.self) { try runOnDevice(device, forced, useBias, activation, usePre) }
                return
            }
            try runOnDevice(device, forced, useBias, activation, usePre)
            Fixture.expectNoValidationMessages()
        }

        func runOnDevice(_ device: VulkanDevice, _ forced: Forced, _ useBias: Bool, _ activation: Activation,
                         _ usePre: Bool) throws {
            let g = forced.geometry
            var random = TestRandom(seed: UInt64(g.m * 1000 + g.n * 10 + g.k))
            let aCount = g.batchStrideA == 0 ? g.m * g.k : g.batch * g.m * g.k
            let bCount = g.batchStrideB == 0 ? g.k * g.n : g.batch * g.k * g.n
            let aValues = random.floats(aCount), bValues = random.floats(bCount)
            let biasValues = useBias ? random.floats(g.n) : nil
            let a = try device.upload(aValues), b = try device.upload(bValues)
            let bias = try biasValues.map { try device.upload($0) }
            let count = g.batch * g.m * g.n
            let c = try device.upload([Float](repeating: .nan, count: count))
            let pre = usePre ? try device.upload([Float](repeating: .nan, count: count)) : nil
            let epilogue = MatmulEpilogue(bias: bias, activation: activation, preActivation: pre)
            try device.matmul(a, b, into: c, geometry: g, epilogue: epilogue, kernel: forced.kernel)
            let expected = referenceMatmul(aValues, bValues, g, bias: biasValues, activation: activation)
            // Each element within float32 accumulation's bound, (k + 2) eps32 sum_k |a||b| (plus
            // |bias|), through the activation (Lipschitz <= 1.2) and its own few roundings.
            let magnitude = referenceMatmul(aValues.map(abs), bValues.map(abs), g, bias: biasValues?.map(abs),
                                            activation: .identity).out
            let eps32 = 0x1p-24
            let preBounds = magnitude.map { Double(g.k + 2) * eps32 * $0 + Double(Float.leastNormalMagnitude) }
            let outBounds = zip(preBounds, expected.out).map { 1.2 * $0 + 8 * eps32 * (abs($1) + 1) }
            let out = try device.download(c, count: count)
            expectClose(out, expected.out, nmse: 1e-11, maxError: .infinity, "\(forced)")
            expectWithin(out, expected.out, outBounds, "\(forced)")
            if let pre {
                let values = try device.download(pre, count: count)
                expectClose(values, expected.pre, nmse: 1e-11, maxError: .infinity, "\(forced) pre")
                expectWithin(values, expected.pre, preBounds, "\(forced) pre")
            }
        }

        func expectWithin(_ actual: [Float], _ expected: [Double], _ bounds: [Double], _ label: String,
                          sourceLocation: SourceLocation = #_sourceLocation) {
            let outside = actual.indices.filter { !(abs(Double(actual[$0]) - expected[$0]) <= bounds[$0]) }
            let first = outside.first.map { "\($0): \(actual[$0]) vs \(expected[$0]) ± \(bounds[$0])" } ?? ""
            #expect(outside.isEmpty, "\(label): \(outside.count) elements outside their bound, first \(first)",
                    sourceLocation: sourceLocation)
        }

        @Test(arguments: tileCases)
        func everyCandidateTile(forced: Forced) throws {
            try run(forced, bias: false, activation: .identity, pre: false)
        }

        @Test(arguments: splitCases)
        func splitK(forced: Forced) throws {
            try run(forced, bias: false, activation: .identity, pre: false)
        }

        @Test(arguments: [splitCases[1], splitCases[3]], [Activation.gelu, .relu])
        func splitKEpilogue(forced: Forced, activation: Activation) throws {
            try run(forced, bias: true, activation: activation, pre: true)
        }

        @Test(arguments: matvecCases)
        func matrixVector(forced: Forced) throws {
            try run(forced, bias: false, activation: .identity, pre: false)
        }

        @Test(arguments: [matvecCases[1], matvecCases[8]])
        func subgroupMatrixVectorEpilogue(forced: Forced) throws {
            try run(forced, bias: true, activation: .silu, pre: true)
        }

        /// The conformance table's split-K and matrix-vector shapes (Sources/TensorConformance/
        /// MatmulKernelConformance.swift) reach the new kernels on the test device itself.
        @Test func conformanceShapesReachTheNewKernels() throws {
            let device = try Fixture.device
            let profile = device.matmulProfile
            for (m, n, k) in [(8, 16, 4096), (8, 16, 4097), (5, 33, 3001), (32, 32, 2048)] {
                let choice = MatmulKernelChoice.choose(MatmulGeometry(m: m, n: n, k: k), device: profile)
                guard case .splitK = choice else {
                    Issue.record("\(m)x\(n)x\(k) runs \(choice), not split-K")
                    continue
                }
            }
            let transposed = MatmulKernelChoice.choose(MatmulGeometry(m: 3, n: 129, k: 31, transposeB: true), device: profile)
            #expect(transposed == (device.enabledFeatures.contains(.subgroupArithmetic) ? .matvecSubgroup : .matvec))
            #expect(MatmulKernelChoice.choose(MatmulGeometry(m: 3, n: 129, k: 31), device: profile) == .matvec)
        }

        /// Split-K's parts must be one product covering K exactly in whole BK steps; a tile
        /// must meet the kernel's constraints.
        @Test func splitKRefusesWhatItCannotRun() throws {
            let device = try Fixture.device
            let a = try device.upload([Float](repeating: 1, count: 2 * 8 * 2048))
            let b = try device.upload([Float](repeating: 1, count: 2 * 2048 * 16))
            let c = try device.upload([Float](repeating: 0, count: 2 * 8 * 16))
            let batched = MatmulGeometry(m: 8, n: 16, k: 2048, batch: 2)
            let split = MatmulSplitK(k: 2048, splits: 4, bk: 8)
            #expect(throws: TensorError.self) {
                try device.matmul(a, b, into: c, geometry: batched, epilogue: .none,
                                  kernel: .splitK(.cpuSmall, aligned: false, split: split))
            }
            // Parts for another K.
            #expect(throws: TensorError.self) {
                try device.matmul(a, b, into: c, geometry: MatmulGeometry(m: 8, n: 16, k: 1024), epilogue: .none,
                                  kernel: .splitK(.cpuSmall, aligned: false, split: split))
            }
            // Parts of 200: whole steps of BK 8, not of the medium tile's 16.
            #expect(throws: TensorError.self) {
                try device.matmul(a, b, into: c, geometry: MatmulGeometry(m: 8, n: 16, k: 1000), epilogue: .none,
                                  kernel: .splitK(.medium, aligned: false, split: MatmulSplitK(k: 1000, splits: 5, bk: 8)))
            }
            #expect(throws: TensorError.self) {
                try device.matmul(a, b, into: c, geometry: MatmulGeometry(m: 8, n: 16, k: 64), epilogue: .none,
                                  kernel: .tiled(MatmulTileConfig(bm: 64, bn: 64, bk: 8, tm: 2, tn: 2), aligned: false))
            }
            Fixture.expectNoValidationMessages()
        }
    }
}
