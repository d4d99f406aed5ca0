import Foundation
import Testing
import TensorCore
@testable import VulkanBackend

extension VulkanTests {
    /// Timings, not checks: run with TENSOR_VULKAN_BENCH=1 (tensorbench has the real benchmark).
    @Suite(.enabled(if: ProcessInfo.processInfo.environment["TENSOR_VULKAN_BENCH"] == "1"))
    struct Benchmark {
        func seconds(_ body: () throws -> Void) rethrows -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }

        @Test func matmulTiledVersusNaive() throws {
            let device = try Fixture.device
            let size = Int(ProcessInfo.processInfo.environment["TENSOR_VULKAN_BENCH_SIZE"] ?? "1024") ?? 1024
            let g = MatmulGeometry(m: size, n: size, k: size)
            var random = TestRandom(seed: 5)
            let a = try device.upload(random.floats(size * size))
            let b = try device.upload(random.floats(size * size))
            let c = try device.makeBuffer(elementCount: size * size)
            var results: [String: Double] = [:]
            func tiled(_ config: MatmulTileConfig) -> MatmulKernelChoice {
                .tiled(config, aligned: config.isAligned(g))
            }
            let kernels: [(String, MatmulKernelChoice)] = [
                ("naive", .naive), ("small", tiled(.small)), ("medium", tiled(.medium)), ("large", tiled(.large)),
                ("cpuSmall", tiled(.cpuSmall)), ("cpuLarge", tiled(.cpuLarge)),
                ("nvidiaLarge", tiled(.nvidiaLarge)), ("amdLarge", tiled(.amdLarge)), ("intelLarge", tiled(.intelLarge)),
                ("auto", MatmulKernelChoice.choose(g, device: device.matmulProfile)),
            ]
            let only = ProcessInfo.processInfo.environment["TENSOR_VULKAN_BENCH_ONLY"]?.split(separator: ",").map(String.init)
            for (label, kernel) in kernels where only?.contains(label) ?? true {
                try device.matmul(a, b, into: c, geometry: g, epilogue: .none, kernel: kernel)
                try device.synchronize()
                let repeats = label == "naive" ? 1 : 3
                let time = try seconds {
                    for _ in 0..<repeats { try device.matmul(a, b, into: c, geometry: g, epilogue: .none, kernel: kernel) }
                    try device.synchronize()
                } / Double(repeats)
                results[label] = g.flops / time / 1e9
                print("matmul \(size)^3 \(label): \(String(format: "%.2f", g.flops / time / 1e9)) GFLOP/s")
            }
            Fixture.expectNoValidationMessages()
        }

        /// Long K with few outputs: the tiled kernel alone against split-K, and both
        /// matrix-vector kernels (M = 1, B transposed). K from TENSOR_VULKAN_BENCH_K (4096).
        @Test func matmulSplitKAndMatrixVector() throws {
            let device = try Fixture.device
            let k = Int(ProcessInfo.processInfo.environment["TENSOR_VULKAN_BENCH_K"] ?? "4096") ?? 4096
            var random = TestRandom(seed: 7)
            let narrow = MatmulGeometry(m: 8, n: 16, k: k)
            let vector = MatmulGeometry(m: 1, n: 4096, k: k, transposeB: true)
            let a = try device.upload(random.floats(8 * k))
            let b = try device.upload(random.floats(4096 * k))
            let c = try device.makeBuffer(elementCount: 4096 * 8)
            let profile = device.matmulProfile
            let config = MatmulTileConfig.choose(m: 8, n: 16, batch: 1, device: profile)
            var runs: [(String, MatmulGeometry, MatmulKernelChoice)] = [
                ("8x16 tiled", narrow, .tiled(config, aligned: config.isAligned(narrow))),
                ("8x16 auto", narrow, MatmulKernelChoice.choose(narrow, device: profile)),
                ("matvec", vector, .matvec),
            ]
            if device.enabledFeatures.contains(.subgroupArithmetic) {
                runs.append(("matvecSubgroup", vector, .matvecSubgroup))
            }
            for (label, g, kernel) in runs {
                try device.matmul(a, b, into: c, geometry: g, epilogue: .none, kernel: kernel)
                try device.synchronize()
                let repeats = 10
                let time = try seconds {
                    for _ in 0..<repeats { try device.matmul(a, b, into: c, geometry: g, epilogue: .none, kernel: kernel) }
                    try device.synchronize()
                } / Double(repeats)
                print("matmul \(g.m)x\(g.n)x\(g.k) \(label) (\(kernel)): \(String(format: "%.1f", time * 1e6)) us")
            }
            Fixture.expectNoValidationMessages()
        }

        @Test func smallOpLatency() throws {
            let device = try Fixture.device
            let x = try device.upload([Float](repeating: 1, count: 1024))
            let y = try device.makeBuffer(elementCount: 1024)
            try device.synchronize()
            let count = 2000
            let time = try seconds {
                for _ in 0..<count / 2 {
                    try device.scaleShift(x, scale: 1, offset: 1, count: 1024, into: y)
                    try device.scaleShift(y, scale: 1, offset: -1, count: 1024, into: x)
                }
                try device.synchronize()
            }
            print("small op (1024 elements, dependent chain): \(String(format: "%.1f", time / Double(count) * 1e6)) us per op")
            Fixture.expectNoValidationMessages()
        }
    }
}
