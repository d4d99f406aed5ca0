import Testing
@testable import CPUBackend
import TensorCore

/// The AVX2 + FMA and AVX-512 attention kernels (AttentionAVX2.c, AttentionAVX512.c), each path
/// this CPU runs, against the portable Swift loops on the
/// same inputs: forward output and log-sum-exp, backward gradients, with a broadcast padding
/// mask, causal masking and a row fully masked with -3.4e38. (Each is checked against float64
/// by the conformance table and AttentionTests; this keeps the path not taken here honest.)
@Suite struct AttentionKernelTests {
    @Test func vectorAndPortablePathsAgree() throws {
        let cpu = CPUDevice.shared
        var rng = SplitMix(seed: 11)
        let (b, h, lq, lk, dh, dv) = (2, 2, 37, 70, 12, 9)
        for causal in [false, true] {
            let g = AttentionGeometry(batch: b, heads: h, queryLength: lq, keyLength: lk, headDimension: dh,
                                      valueDimension: dv, scale: 0.3, causal: causal)
            let q = try upload(rng.floats(b * h * lq * dh), on: cpu), k = try upload(rng.floats(b * h * lk * dh), on: cpu)
            let v = try upload(rng.floats(b * h * lk * dv), on: cpu), dO = try upload(rng.floats(b * h * lq * dv), on: cpu)
            // Batch 0 pads its last 9 keys, batch 1 every key (a uniform average).
            let padding = (0..<(b * lk)).map { $0 >= lk || $0 % lk >= lk - 9 ? Float(-3.4e38) : 0 }
            let mask = AttentionMask(buffer: try upload(padding, on: cpu),
                                     layout: StridedLayout(shape: [b, h, lq, lk], strides: [lk, 0, 0, 1]))
            var results: [[Float]] = []
            // The portable loops first: the reference each vector path is compared with.
            let paths = [CPUISA.portable] + CPUISA.allCases.filter { $0 != .portable && $0.isSupported }
            for isa in CPUISA.allCases where !isa.isSupported {
                print("AttentionKernelTests: \(isa) not run: \(isa.unsupportedReason ?? "unsupported")")
            }
            for isa in paths {
                let o = try cpu.makeBuffer(elementCount: b * h * lq * dv), lse = try cpu.makeBuffer(elementCount: b * h * lq)
                let dQ = try cpu.makeBuffer(elementCount: b * h * lq * dh), dK = try cpu.makeBuffer(elementCount: b * h * lk * dh)
                let dV = try cpu.makeBuffer(elementCount: b * h * lk * dv)
                try cpu.attentionForward(g, query: q, key: k, value: v, mask: mask, output: o, logSumExp: lse,
                                         isa: isa)
                try cpu.attentionBackward(g, query: q, key: k, value: v, mask: mask, output: o, logSumExp: lse,
                                          gradOutput: dO, gradQuery: dQ, gradKey: dK, gradValue: dV, isa: isa)
                let counts = [b * h * lq * dv, b * h * lq, b * h * lq * dh, b * h * lk * dh, b * h * lk * dv]
                results.append(try zip([o, lse, dQ, dK, dV], counts).flatMap { try download($0, count: $1, on: cpu) })
            }
            for (isa, result) in zip(paths, results).dropFirst() {
                #expect(result.count == results[0].count)
                var worst: Float = 0
                for (x, y) in zip(result, results[0]) {
                    worst = max(worst, abs(x - y) / max(1, abs(y)))
                }
                #expect(worst < 1e-4, "\(isa), causal \(causal): largest relative difference \(worst)")
            }
        }
    }
}
