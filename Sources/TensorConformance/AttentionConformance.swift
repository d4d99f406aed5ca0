import Foundation
import TensorCore

/// Conformance of `attentionForward` (output and log-sum-exp) and `attentionBackward` (dQ,
/// dK, dV) against softmax(QK^T * scale + mask) V in float64, at L = 1, primes (7, 13, with
/// Lq != Lk both ways), several workgroups and key tiles (67), head dimensions 1, 8, 32, 64 and a
/// value dimension apart from the head's; unmasked, causal, [B, 1, 1, Lk] padding masks
/// (-3.4e38 alone, -inf with causal; read in place through stride-0 axes) and an offset
/// [Lq, Lk] additive mask broadcast over batch and heads.
extension ConformanceTable {
    struct AttentionShape {
        let shapeClass: String
        let b, h, lq, lk, dh, dv: Int
    }

    static let attentionShapes = [
        AttentionShape(shapeClass: "1", b: 1, h: 1, lq: 1, lk: 1, dh: 1, dv: 1),
        AttentionShape(shapeClass: "prime", b: 2, h: 3, lq: 7, lk: 13, dh: 8, dv: 8),
        AttentionShape(shapeClass: "prime", b: 1, h: 2, lq: 13, lk: 7, dh: 32, dv: 5),
        AttentionShape(shapeClass: "tiles", b: 1, h: 2, lq: 67, lk: 67, dh: 64, dv: 64),
        AttentionShape(shapeClass: "tiles", b: 2, h: 1, lq: 5, lk: 67, dh: 32, dv: 32),
    ]

    /// Mask variants: name, causal, and which mask (nil, padding fill, or the offset pair mask).
    /// The last, every key of batch 0 padded with -3.4e38 (a uniform average whose log-sum-exp
    /// rounds to -3.4e38, so backward must recompute the row sums), is checked in backward only:
    /// its forward log-sum-exps of -3.4e38 would swamp the normalised error of the rest.
    static let attentionMasks: [(name: String, causal: Bool, padding: Float?, pair: Bool, allPadded: Bool)] = [
        ("unmasked", false, nil, false, false), ("causal", true, nil, false, false),
        ("padding -3.4e38", false, -3.4e38, false, false), ("padding -inf, causal", true, -.infinity, false, false),
        ("[Lq, Lk] mask, offset", false, nil, true, false), ("batch 0 all padded -3.4e38", false, -3.4e38, false, true),
    ]

    static func attentionCases() -> [ConformanceCase] {
        attentionShapes.flatMap { s in
            attentionMasks.flatMap { variant in
                (variant.allPadded ? [true] : [false, true]).map { backward in
                    let shape = "q [\(s.b), \(s.h), \(s.lq), \(s.dh)] k [\(s.lk)] v [\(s.dv)]"
                    return ConformanceCase(backward ? .attentionBackward : .attentionForward,
                                           "attention\(backward ? "Backward" : "Forward") \(variant.name)",
                                           shapeClass: s.shapeClass, shape: shape, values: "normal",
                                           bound: activationBound, exactSigns: false) { (h) throws(TensorError) in
                        try attentionCase(h, s, causal: variant.causal, padding: variant.padding, pair: variant.pair,
                                          allPadded: variant.allPadded, backward: backward)
                    }
                }
            }
        }
    }

    private static func attentionCase(_ h: Harness, _ s: AttentionShape, causal: Bool, padding: Float?, pair: Bool,
                                      allPadded: Bool, backward: Bool) throws(TensorError) -> ConformanceCase.Computed {
        let bh = s.b * s.h
        let q = h.values(bh * s.lq * s.dh, "normal"), k = h.values(bh * s.lk * s.dh, "normal")
        let v = h.values(bh * s.lk * s.dv, "normal")
        let scale = 1 / Float(s.dh).squareRoot()
        let geometry = AttentionGeometry(batch: s.b, heads: s.h, queryLength: s.lq, keyLength: s.lk, headDimension: s.dh,
                                         valueDimension: s.dv, scale: scale, causal: causal)
        // The mask as host values of [B, H, Lq, Lk] for the reference, and as the buffer + layout the op reads.
        var full: [Float]?
        var mask: AttentionMask?
        let scores = [s.b, s.h, s.lq, s.lk]
        if let padding {
            let padded = s.lk / 3
            let values = (0..<(s.b * s.lk)).map {
                (allPadded && $0 < s.lk) || $0 % s.lk >= s.lk - padded * ($0 / s.lk + 1) / s.b ? padding : 0
            }
            full = (0..<(bh * s.lq * s.lk)).map { values[$0 / (s.h * s.lq * s.lk) * s.lk + $0 % s.lk] }
            mask = AttentionMask(buffer: try h.input(values), layout: StridedLayout(shape: scores, strides: [s.lk, 0, 0, 1]))
        } else if pair {
            let values = h.values(3 + s.lq * s.lk, "normal")
            full = (0..<(bh * s.lq * s.lk)).map { values[3 + $0 % (s.lq * s.lk)] }
            mask = AttentionMask(buffer: try h.input(values),
                                 layout: StridedLayout(shape: scores, strides: [0, 0, s.lk, 1], offset: 3))
        }
        let expected = attentionReference(q, k, v, mask: full, s, scale: Double(scale), causal: causal,
                                          gradOutput: backward ? h.values(bh * s.lq * s.dv, "normal") : nil)
        let qb = try h.input(q), kb = try h.input(k), vb = try h.input(v)
        if !backward {
            let out = try h.output(bh * s.lq * s.dv), lse = try h.output(bh * s.lq)
            try h.run(.attentionForward(geometry, query: qb, key: kb, value: vb, mask: mask, output: out.buffer,
                                        logSumExp: lse.buffer))
            return .init(actual: try h.read(out) + h.read(lse), reference: expected.output + expected.logSumExp)
        }
        let out = try h.backend.makeBuffer(elementCount: max(1, bh * s.lq * s.dv))
        let lse = try h.backend.makeBuffer(elementCount: max(1, bh * s.lq))
        try h.run(.attentionForward(geometry, query: qb, key: kb, value: vb, mask: mask, output: out, logSumExp: lse))
        let dQ = try h.output(bh * s.lq * s.dh), dK = try h.output(bh * s.lk * s.dh), dV = try h.output(bh * s.lk * s.dv)
        try h.run(.attentionBackward(geometry, query: qb, key: kb, value: vb, mask: mask, output: out, logSumExp: lse,
                                     gradOutput: try h.input(expected.gradOutput), gradQuery: dQ.buffer,
                                     gradKey: dK.buffer, gradValue: dV.buffer))
        return .init(actual: try h.read(dQ) + h.read(dK) + h.read(dV),
                     reference: expected.gradQuery + expected.gradKey + expected.gradValue)
    }

    struct AttentionExpected {
        var output: [Double] = [], logSumExp: [Double] = []
        var gradOutput: [Float] = []
        var gradQuery: [Double] = [], gradKey: [Double] = [], gradValue: [Double] = []
    }

    /// softmax(q k^T * scale + mask) v in float64, its log-sum-exp and (with a gradient of the
    /// output) the gradients of q, k and v through the probabilities. A masked score is rounded
    /// to float32 as the op adds the mask in float32; a row whose scores are all -inf is 0 with
    /// log-sum-exp -inf and no gradient.
    static func attentionReference(_ q: [Float], _ k: [Float], _ v: [Float], mask: [Float]?, _ s: AttentionShape,
                                   scale: Double, causal: Bool, gradOutput: [Float]?) -> AttentionExpected {
        let bh = s.b * s.h
        var r = AttentionExpected()
        r.output = [Double](repeating: 0, count: bh * s.lq * s.dv)
        r.logSumExp = [Double](repeating: -.infinity, count: bh * s.lq)
        r.gradQuery = [Double](repeating: 0, count: bh * s.lq * s.dh)
        r.gradKey = [Double](repeating: 0, count: bh * s.lk * s.dh)
        r.gradValue = [Double](repeating: 0, count: bh * s.lk * s.dv)
        r.gradOutput = gradOutput ?? []
        for head in 0..<bh {
            for i in 0..<s.lq {
                var scores = [Double](repeating: -.infinity, count: s.lk)
                for j in 0..<s.lk where !(causal && j > i) {
                    var dot = 0.0
                    for d in 0..<s.dh { dot += Double(q[(head * s.lq + i) * s.dh + d]) * Double(k[(head * s.lk + j) * s.dh + d]) }
                    let m = mask.map { Double($0[(head * s.lq + i) * s.lk + j]) } ?? 0
                    scores[j] = m == 0 ? dot * scale : Double(Float(dot * scale) + Float(m))
                }
                let top = scores.max() ?? -.infinity
                guard top > -.infinity else { continue }
                let weights = scores.map { Foundation.exp($0 - top) }
                let total = weights.reduce(0, +)
                let p = weights.map { $0 / total }
                let row = head * s.lq + i
                r.logSumExp[row] = top + Foundation.log(total)
                for d in 0..<s.dv {
                    var sum = 0.0
                    for j in 0..<s.lk { sum += p[j] * Double(v[(head * s.lk + j) * s.dv + d]) }
                    r.output[row * s.dv + d] = sum
                }
                guard let gradOutput else { continue }
                var dp = [Double](repeating: 0, count: s.lk)
                for j in 0..<s.lk {
                    for d in 0..<s.dv { dp[j] += Double(gradOutput[row * s.dv + d]) * Double(v[(head * s.lk + j) * s.dv + d]) }
                }
                let delta = zip(p, dp).reduce(0.0) { $0 + $1.0 * $1.1 }
                for j in 0..<s.lk where p[j] != 0 {
                    let ds = p[j] * (dp[j] - delta) * scale
                    for d in 0..<s.dv { r.gradValue[(head * s.lk + j) * s.dv + d] += p[j] * Double(gradOutput[row * s.dv + d]) }
                    for d in 0..<s.dh {
                        r.gradQuery[row * s.dh + d] += ds * Double(k[(head * s.lk + j) * s.dh + d])
                        r.gradKey[(head * s.lk + j) * s.dh + d] += ds * Double(q[row * s.dh + d])
                    }
                }
            }
        }
        return r
    }
}
