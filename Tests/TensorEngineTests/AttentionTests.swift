import Foundation
import TestSupport
import Testing
import TensorEngine

/// `scaledDotProductAttention` on every device: values against softmax(QK^T * scale + mask) V
/// in float64, padding masks (finite and -inf), causal masking, both together, fully masked
/// rows, gradients against finite differences, bad shapes, and what autograd retains.
@Suite(.vulkanValidation) struct AttentionTests {
    /// softmax(q k^T * scale + mask) v in float64; `mask` is [B, H, Lq, Lk] (already expanded).
    /// Scores with a mask are rounded to float32 (the op adds the mask in float32, so -3.4e38 +
    /// a score is -3.4e38); a row whose scores are all -inf is 0.
    static func reference(_ q: [Float], _ k: [Float], _ v: [Float], mask: [Float]?, b: Int, h: Int, lq: Int, lk: Int,
                          dh: Int, dv: Int, scale: Double, causal: Bool) -> [Double] {
        var out = [Double](repeating: 0, count: b * h * lq * dv)
        for head in 0..<(b * h) {
            for i in 0..<lq {
                var scores = [Double](repeating: -.infinity, count: lk)
                for j in 0..<lk where !(causal && j > i) {
                    var dot = 0.0
                    for d in 0..<dh { dot += Double(q[(head * lq + i) * dh + d]) * Double(k[(head * lk + j) * dh + d]) }
                    let m = mask.map { Double($0[(head * lq + i) * lk + j]) } ?? 0
                    scores[j] = m == 0 ? dot * scale : Double(Float(dot * scale) + Float(m))
                }
                let top = scores.max() ?? -.infinity
                guard top > -.infinity else { continue }
                let weights = scores.map { Foundation.exp($0 - top) }
                let total = weights.reduce(0, +)
                for d in 0..<dv {
                    var sum = 0.0
                    for j in 0..<lk { sum += weights[j] * Double(v[(head * lk + j) * dv + d]) }
                    out[(head * lq + i) * dv + d] = sum / total
                }
            }
        }
        return out
    }

    /// A [B, 1, 1, Lk] padding mask: the last `padded[b]` keys of batch b get `fill`.
    static func paddingMask(b: Int, lk: Int, padded: [Int], fill: Float) -> [Float] {
        (0..<(b * lk)).map { index in index % lk >= lk - padded[index / lk] ? fill : 0 }
    }

    static func expand(_ mask: [Float], b: Int, h: Int, lq: Int, lk: Int) -> [Float] {
        (0..<(b * h * lq * lk)).map { index in mask[index / (h * lq * lk) * lk + index % lk] }
    }

    struct Case: Sendable {
        var b, h, lq, lk, dh, dv: Int
        var causal: Bool
    }

    static let cases: [Case] = [
        Case(b: 1, h: 1, lq: 1, lk: 1, dh: 1, dv: 1, causal: false),
        Case(b: 2, h: 3, lq: 7, lk: 13, dh: 8, dv: 8, causal: false),
        Case(b: 2, h: 3, lq: 13, lk: 7, dh: 8, dv: 5, causal: true),
        Case(b: 1, h: 2, lq: 67, lk: 67, dh: 32, dv: 32, causal: true),
        Case(b: 1, h: 1, lq: 3, lk: 67, dh: 64, dv: 64, causal: false),
    ]

    @Test(arguments: TestDevices.all)
    func forwardMatchesFloat64(device: Device) throws {
        var rng = SeededRandom(seed: 17)
        for c in Self.cases {
            let q = rng.normalFloats(c.b * c.h * c.lq * c.dh), k = rng.normalFloats(c.b * c.h * c.lk * c.dh)
            let v = rng.normalFloats(c.b * c.h * c.lk * c.dv)
            let got = try scaledDotProductAttention(
                query: Tensor(q, shape: [c.b, c.h, c.lq, c.dh], on: device),
                key: Tensor(k, shape: [c.b, c.h, c.lk, c.dh], on: device),
                value: Tensor(v, shape: [c.b, c.h, c.lk, c.dv], on: device), causal: c.causal)
            #expect(got.shape == [c.b, c.h, c.lq, c.dv])
            let expected = Self.reference(q, k, v, mask: nil, b: c.b, h: c.h, lq: c.lq, lk: c.lk, dh: c.dh, dv: c.dv,
                                          scale: 1 / Double(c.dh).squareRoot(), causal: c.causal)
            let error = nmse(try got.toArray(), expected)
            #expect(error < 1e-10, "\(c) on \(device.identifier): nmse \(error)")
        }
    }

    /// Padding masks of [B, 1, 1, Lk] (read in place) with -3.4e38 and with -inf, alone and with
    /// causal, including a batch whose keys are all padded: finite gives the uniform average of
    /// the values (as PyTorch), -inf gives 0.
    @Test(arguments: TestDevices.all)
    func paddingMasksAndFullyMaskedRows(device: Device) throws {
        let (b, h, lq, lk, dh) = (3, 2, 5, 6, 4)
        var rng = SeededRandom(seed: 5)
        let q = rng.normalFloats(b * h * lq * dh), k = rng.normalFloats(b * h * lk * dh), v = rng.normalFloats(b * h * lk * dh)
        let query = try Tensor(q, shape: [b, h, lq, dh], on: device), key = try Tensor(k, shape: [b, h, lk, dh], on: device)
        let value = try Tensor(v, shape: [b, h, lk, dh], on: device)
        for fill in [Float(-3.4e38), -.infinity] {
            let mask = Self.paddingMask(b: b, lk: lk, padded: [0, 2, lk], fill: fill)
            let full = Self.expand(mask, b: b, h: h, lq: lq, lk: lk)
            for causal in [false, true] {
                let got = try scaledDotProductAttention(query: query, key: key, value: value,
                                                        mask: Tensor(mask, shape: [b, 1, 1, lk], on: device),
                                                        causal: causal, scale: 0.7).toArray()
                let expected = Self.reference(q, k, v, mask: full, b: b, h: h, lq: lq, lk: lk, dh: dh, dv: dh,
                                              scale: 0.7, causal: causal)
                #expect(got.allSatisfy { $0.isFinite }, "fill \(fill) causal \(causal)")
                let error = nmse(got, expected)
                #expect(error < 1e-10, "fill \(fill) causal \(causal) on \(device.identifier): nmse \(error)")
                // Batch 2 is fully padded: uniform average with a finite fill (causal: over keys 0...i), 0 with -inf.
                let i = 3, head = 2 * h
                var average = 0.0
                let seen = causal ? i + 1 : lk
                for j in 0..<seen { average += Double(v[(head * lk + j) * dh]) / Double(seen) }
                let value0 = got[(head * lq + i) * dh]
                #expect(Swift.abs(Double(value0) - (fill.isFinite ? average : 0)) < 1e-5, "fully masked row, fill \(fill)")
            }
        }
        // A full [B, H, Lq, Lk] mask and a [Lq, Lk] one broadcast over batch and heads.
        let pair = rng.normalFloats(lq * lk)
        let got = try scaledDotProductAttention(query: query, key: key, value: value,
                                                mask: Tensor(pair, shape: [lq, lk], on: device)).toArray()
        let full = (0..<(b * h * lq * lk)).map { pair[$0 % (lq * lk)] }
        let expected = Self.reference(q, k, v, mask: full, b: b, h: h, lq: lq, lk: lk, dh: dh, dv: dh,
                                      scale: 0.5, causal: false)
        #expect(nmse(got, expected) < 1e-10)
    }

    /// Gradients of q, k and v against central differences, with a padding mask and causal.
    @Test(arguments: TestDevices.all)
    func gradientsMatchFiniteDifferences(device: Device) throws {
        let (b, h, lq, lk, dh, dv) = (2, 2, 5, 6, 4, 3)
        let mask = try Tensor(Self.paddingMask(b: b, lk: lk, padded: [0, 2], fill: -.infinity), shape: [b, 1, 1, lk], on: device)
        let weights = try Tensor((0..<(b * h * lq * dv)).map { Float($0 % 7) - 3 }, shape: [b, h, lq, dv], on: device)
        for (masked, causal) in [(false, false), (true, false), (false, true), (true, true)] {
            try AutogradTests.check("attention mask \(masked) causal \(causal)", on: device,
                                    shapes: [[b, h, lq, dh], [b, h, lk, dh], [b, h, lk, dv]]) { x in
                try (scaledDotProductAttention(query: x[0], key: x[1], value: x[2], mask: masked ? mask : nil,
                                               causal: causal) * weights).sum()
            }
        }
        // A fully masked (-inf) batch gets zero gradients, never NaN.
        let q = try Tensor.randn([1, 1, 3, dh], seed: 1, on: device).requiringGrad()
        let k = try Tensor.randn([1, 1, lk, dh], seed: 2, on: device).requiringGrad()
        let v = try Tensor.randn([1, 1, lk, dv], seed: 3, on: device).requiringGrad()
        let all = try Tensor([Float](repeating: -.infinity, count: lk), shape: [lk], on: device)
        try scaledDotProductAttention(query: q, key: k, value: v, mask: all).sum().backward()
        for grad in [q.grad, k.grad, v.grad] { #expect(try grad!.toArray().allSatisfy { $0 == 0 }) }
        // A row masked with -3.4e38 everywhere is a uniform average (its log-sum-exp rounds to
        // -3.4e38): each value row gets 1/Lk of every query's output gradient.
        let v2 = try Tensor.randn([1, 1, lk, dv], seed: 4, on: device).requiringGrad()
        let w: [Float] = (0..<(3 * dv)).map { Float($0) - 4 }
        let huge = try Tensor([Float](repeating: -3.4e38, count: lk), shape: [1, 1, 1, lk], on: device)
        try (scaledDotProductAttention(query: q.detached(), key: k.detached(), value: v2, mask: huge)
            * Tensor(w, shape: [1, 1, 3, dv], on: device)).sum().backward()
        let expected = (0..<(lk * dv)).map { index in (0..<3).reduce(Float(0)) { $0 + w[$1 * dv + index % dv] } / Float(lk) }
        let got = try v2.grad!.toArray()
        #expect(zip(got, expected).allSatisfy { Swift.abs($0 - $1) < 1e-5 }, "\(got) vs \(expected)")
    }

    /// Query, key and value as views (a [B, L, H, Dh] projection permuted to [B, H, L, Dh]).
    @Test(arguments: TestDevices.all)
    func readsPermutedViews(device: Device) throws {
        let (b, h, l, dh) = (2, 3, 5, 4)
        var rng = SeededRandom(seed: 9)
        let raw = (0..<3).map { _ in rng.normalFloats(b * l * h * dh) }
        let views = try raw.map { try Tensor($0, shape: [b, l, h, dh], on: device).permuted([0, 2, 1, 3]) }
        let got = try scaledDotProductAttention(query: views[0], key: views[1], value: views[2]).toArray()
        let contiguous = try views.map { try $0.contiguous().toArray() }
        let expected = Self.reference(contiguous[0], contiguous[1], contiguous[2], mask: nil, b: b, h: h, lq: l, lk: l,
                                      dh: dh, dv: dh, scale: 0.5, causal: false)
        #expect(nmse(got, expected) < 1e-10)
    }

    @Test(arguments: TestDevices.all)
    func badShapesThrow(device: Device) throws {
        func t(_ shape: [Int]) throws -> Tensor { try Tensor.zeros(shape, on: device) }
        let q = try t([1, 2, 3, 4]), k = try t([1, 2, 5, 4]), v = try t([1, 2, 5, 4])
        #expect(throws: TensorError.self) { try scaledDotProductAttention(query: t([2, 3, 4]), key: k, value: v) }
        #expect(throws: TensorError.self) { try scaledDotProductAttention(query: q, key: t([1, 3, 5, 4]), value: v) }
        #expect(throws: TensorError.self) { try scaledDotProductAttention(query: q, key: t([1, 2, 5, 3]), value: v) }
        #expect(throws: TensorError.self) { try scaledDotProductAttention(query: q, key: k, value: t([1, 2, 6, 4])) }
        #expect(throws: TensorError.self) { try scaledDotProductAttention(query: q, key: k, value: v, mask: t([1, 2, 3, 6])) }
        #expect(throws: TensorError.self) { try scaledDotProductAttention(query: q, key: k, value: v, mask: t([2, 1, 1, 5])) }
        #expect(throws: TensorError.self) { try scaledDotProductAttention(query: q, key: k, value: v, mask: t([1, 1, 1, 1, 5])) }
        #expect(throws: TensorError.self) {
            try scaledDotProductAttention(query: t([1, 1, 2, 129]), key: t([1, 1, 2, 129]), value: t([1, 1, 2, 129]))
        }
        #expect(throws: TensorError.self) { try scaledDotProductAttention(query: q, key: k, value: v, scale: .nan) }
        do {
            _ = try scaledDotProductAttention(query: q, key: k, value: v, mask: t([1, 2, 3, 6]))
        } catch let error {
            #expect("\(error)".contains("[1, 2, 3, 6]") && "\(error)".contains("[1, 2, 3, 5]"), "\(error)")
        }
        // Empty lengths are fine.
        #expect(try scaledDotProductAttention(query: t([1, 2, 0, 4]), key: k, value: v).shape == [1, 2, 0, 4])
        #expect(try scaledDotProductAttention(query: q, key: t([1, 2, 0, 4]), value: t([1, 2, 0, 4])).toArray()
            .allSatisfy { $0 == 0 })
    }

    /// Backward keeps q, k, v, the output and the log-sum-exp: O(L * D), not the L x L probabilities.
    @Test(arguments: TestDevices.all)
    func retainsNoScores(device: Device) throws {
        let (b, h, l, dh) = (1, 2, 256, 8)
        let q = try Tensor.randn([b, h, l, dh], seed: 1, on: device).requiringGrad()
        let k = try Tensor.randn([b, h, l, dh], seed: 2, on: device).requiringGrad()
        let v = try Tensor.randn([b, h, l, dh], seed: 3, on: device).requiringGrad()
        let y = try scaledDotProductAttention(query: q, key: k, value: v, causal: true)
        let retained = y.retainedBytesByOp()["scaledDotProductAttention"] ?? 0
        #expect(retained == 4 * b * h * l * dh * 4 + b * h * l * 4)
        #expect(retained < b * h * l * l * 4)
    }
}
