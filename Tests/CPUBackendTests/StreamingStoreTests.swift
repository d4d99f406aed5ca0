@testable import CPUBackend
import TensorCore
import Testing

/// Outputs of 2^21 floats or more a call are written with non-temporal stores
/// (ActivationBodies.h `streams`): on every C path this CPU runs, one such call must give
/// bit for bit what the same kernel gives in small, cached calls (which the float64 tests of
/// KernelPathTests and ActivationTests check), including the unaligned tail after the
/// streamed part.
@Suite("Non-temporal activation stores")
struct StreamingStoreTests {
    static let count = (1 << 21) + 37
    static let paths = CPUISA.allCases.filter { $0 != .portable && $0.isSupported }

    @Test("a streamed call equals the cached calls, forward and backward",
          arguments: [Activation.gelu, .silu, .relu])
    func streamedEqualsCached(_ activation: Activation) {
        var rng = SplitMix(seed: 21)
        let xs = rng.floats(Self.count, scale: 4), gs = rng.floats(Self.count)
        #expect(!Self.paths.isEmpty || !CPUISA.avx2.isSupported, "no C path on a CPU with AVX2")
        for isa in Self.paths {
            let pieces = stride(from: 0, to: Self.count, by: 4096).map { $0..<min($0 + 4096, Self.count) }
            let (streamed, cached) = xs.withUnsafeBufferPointer { x in
                gs.withUnsafeBufferPointer { g in
                    (run { ActivationKernels.forward(activation, x.baseAddress!, $0, range: 0..<Self.count, isa: isa) },
                     run { y in pieces.forEach { ActivationKernels.forward(activation, x.baseAddress!, y, range: $0, isa: isa) } })
                }
            }
            #expect(firstDifference(streamed, cached) == nil, "\(activation) forward on \(isa)")
            let (streamedGrad, cachedGrad) = xs.withUnsafeBufferPointer { x in
                gs.withUnsafeBufferPointer { g in
                    (run { ActivationKernels.backward(activation, x.baseAddress!, g.baseAddress!, $0, range: 0..<Self.count, isa: isa) },
                     run { y in pieces.forEach { ActivationKernels.backward(activation, x.baseAddress!, g.baseAddress!, y, range: $0, isa: isa) } })
                }
            }
            #expect(firstDifference(streamedGrad, cachedGrad) == nil, "\(activation) backward on \(isa)")
            #expect(streamed.contains { $0 != 0 })
        }
    }

    /// The first index where the bit patterns differ (a short failure message for 2M values).
    private func firstDifference(_ a: [Float], _ b: [Float]) -> Int? {
        a.indices.first { a[$0].bitPattern != b[$0].bitPattern }
    }

    /// Runs `body` on a 64-byte-aligned output of `count` floats (as the buffer pool allocates).
    private func run(_ body: (UnsafeMutablePointer<Float>) -> Void) -> [Float] {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: Self.count * 4, alignment: 64)
        defer { raw.deallocate() }
        let y = raw.bindMemory(to: Float.self, capacity: Self.count)
        y.initialize(repeating: .nan, count: Self.count)
        body(y)
        return Array(UnsafeBufferPointer(start: y, count: Self.count))
    }
}
