import Foundation
import TensorCore

/// Conformance of LayerNorm, RMSNorm, (log-)softmax and fused attention on float16 / bfloat16
/// storage (``OperandTypes``: the input's type `a` (attention: the query's; `b` the key's and
/// value's), the output's `c`): the Vulkan kernels' storage16
/// variants where a backend has them, the casts composite elsewhere, and the composite on
/// every backend (`compositeCases`).
///
/// As in StorageConformance, inputs are rounded to their storage type first, so the float64
/// reference sees exactly the values the kernel reads. Each element must lie within half an
/// ulp of the output type at the reference's magnitude (the one rounding on store: relative
/// 2^-11 for float16, 2^-8 for bfloat16) plus a float32 slack, the error a float32
/// implementation may make before that rounding; the per-element bounds are held by
/// `withinBounds` (an element outside reads back as NaN), the normalised error by the output
/// type's squared half-ulp (`storageBound`).
extension ConformanceTable {
    static let storageTransformerTypes: [OperandTypes] = [
        OperandTypes(a: .float16, c: .float16),
        OperandTypes(a: .bfloat16, c: .bfloat16),
        OperandTypes(a: .float16, c: .float32),
        OperandTypes(a: .float32, c: .bfloat16),
    ]

    static func storageTransformerCases() -> [ConformanceCase] {
        storageNormCases() + storageSoftmaxCases() + storageAttentionCases()
    }

    /// LayerNorm (weight and bias) and RMSNorm (weight) at the norm shapes that matter for the
    /// 16-bit paths: one element, a prime width, one and many rows per workgroup segment, a
    /// width past 1024, no rows; "normal" values and rows offset by 100 (a 16-bit mean far
    /// from 0: float16 spacing 1/16 there, bfloat16 1/2).
    static func storageNormCases() -> [ConformanceCase] {
        let shapes: [(String, Int, Int)] = [
            ("1", 1, 1), ("prime", 13, 7), ("384", 3, 384), ("1031", 2, 1031), ("many short rows", 300, 7),
            ("no rows", 0, 384),
        ]
        var cases: [ConformanceCase] = []
        for types in storageTransformerTypes {
            for centered in [true, false] {
                for (shapeClass, rows, columns) in shapes {
                    cases.append(storageNormCase(centered, types, shapeClass, rows, columns, "normal"))
                }
                cases.append(storageNormCase(centered, types, "384", 3, 384, "offset 100"))
            }
        }
        return cases
    }

    /// Bounds: the statistics are float32 sums of n = columns terms (the corrected two-pass),
    /// so mean and rstd carry a relative error of about n eps32 and xh = (x - mean) * rstd an
    /// absolute one of about n eps32 (1 + |xh|); with the weight and bias, and a few eps32 for
    /// the driver's sqrt and division, the float32 slack of y is (n + 16) eps32 ((1 + |xh|)
    /// |w| + |b|). mean and rstd (float32 outputs) are held to (n + 16) eps32 of mean|x| and
    /// of rstd.
    static func storageNormCase(_ centered: Bool, _ types: OperandTypes, _ shapeClass: String, _ rows: Int,
                                _ columns: Int, _ values: String) -> ConformanceCase {
        let name = (centered ? "layerNorm weight bias " : "rmsNorm weight ") + "\(types.a) -> \(types.c)"
        return ConformanceCase(centered ? .layerNorm : .rmsNorm, name, shapeClass: shapeClass,
                               shape: "[\(rows), \(columns)]", values: values,
                               bound: storageBound(types.c)) { (h) throws(TensorError) in
            let epsilon: Float = centered ? 1e-5 : 1e-6
            let count = rows * columns
            let drawn = h.values(count, "normal").map { values == "offset 100" ? 100 + $0 : $0 }
            let (xBytes, x) = storageValues(drawn, types.a)
            let w = h.values(columns, "normal"), b = centered ? h.values(columns, "normal") : nil
            let out = try h.outputBytes(count * types.c.byteSize)
            let mean = try h.output(rows), rstd = try h.output(rows)
            let xb = try h.inputBytes(xBytes), wb = try h.input(w)
            let bb = try b.map { (v) throws(TensorError) in try h.input(v) }
            try h.run(centered
                ? .layerNorm(input: xb, weight: wb, bias: bb, rows: rows, columns: columns, epsilon: epsilon,
                             output: out.buffer, mean: mean.buffer, rstd: rstd.buffer, types: types)
                : .rmsNorm(input: xb, weight: wb, rows: rows, columns: columns, epsilon: epsilon, output: out.buffer,
                           rstd: rstd.buffer, types: types))
            let slackScale = Double(columns + 16) * 0x1p-24
            var reference: [Double] = [], bounds: [Double] = []
            var statistics: [Double] = [], statisticBounds: [Double] = []
            for r in 0..<rows {
                let row = x[(r * columns)..<((r + 1) * columns)]
                let (m, s) = normStatistics(row, centered: centered, epsilon: epsilon)
                for c in 0..<columns {
                    let xh = (Double(x[r * columns + c]) - m) * s
                    let value = xh * Double(w[c]) + Double(b?[c] ?? 0)
                    let slack = slackScale * ((1 + abs(xh)) * abs(Double(w[c])) + abs(Double(b?[c] ?? 0)))
                    reference.append(value)
                    bounds.append(halfUlp(abs(value) + slack, types.c) + slack)
                }
                if centered {
                    statistics.append(m)
                    statisticBounds.append(slackScale * row.reduce(0.0) { $0 + abs(Double($1)) } / Double(columns))
                }
                statistics.append(s)
                statisticBounds.append(slackScale * s)
            }
            // The statistics follow y in the buffer order: [mean,] rstd per row, as read below.
            let y = decode(try h.readBytes(out, byteCount: count * types.c.byteSize), types.c, count: count)
            let means = try h.read(mean), rstds = try h.read(rstd)
            var actualStatistics: [Double] = []
            for r in 0..<rows {
                if centered { actualStatistics.append(Double(means[r])) }
                actualStatistics.append(Double(rstds[r]))
            }
            return .init(actual: withinBounds(y + actualStatistics, reference + statistics, bounds + statisticBounds),
                         reference: reference + statistics)
        }
    }

    /// Softmax and log-softmax: narrow rows (one invocation per row), wide rows (a workgroup
    /// per row), a transposed view (softmax down the columns of a stored matrix, read in
    /// place) and one element; logits N(0, 4^2).
    static func storageSoftmaxCases() -> [ConformanceCase] {
        let layouts: [(String, Int, StridedLayout)] = [
            ("1", 1, .contiguous([1, 1])),
            ("narrow prime", 13 * 7, .contiguous([13, 7])),
            ("wide 1031", 3 * 1031, .contiguous([3, 1031])),
            ("transposed", 13 * 200 + 5, StridedLayout(shape: [200, 13], strides: [1, 200], offset: 5)),
        ]
        var cases: [ConformanceCase] = []
        for types in storageTransformerTypes {
            for logarithm in [false, true] {
                for (shapeClass, sourceCount, layout) in layouts {
                    cases.append(storageSoftmaxCase(logarithm, types, shapeClass, sourceCount, layout))
                }
            }
        }
        return cases
    }

    /// Bounds: the Vulkan spec lets exp(d) err by 3 + 2|d| float32 ulps (2 eps32 each), the
    /// row sum adds n eps32, the division 2.5 ulps, log 3 ulps or 2^-21 absolute. So softmax's
    /// p_i carries a relative float32 slack of (n + 2 (6 + 2|d_i| + 2 dmax) + 8) eps32 (d_i =
    /// x_i - max, dmax the row's largest |d|), and log-softmax an absolute one of 2^-21 plus
    /// (n + 4 (3 + 2 dmax) + 16) eps32 (1 + |x_i| + |max| + log(sum)).
    static func storageSoftmaxCase(_ logarithm: Bool, _ types: OperandTypes, _ shapeClass: String, _ sourceCount: Int,
                                   _ layout: StridedLayout) -> ConformanceCase {
        let name = (logarithm ? "logSoftmax " : "softmax ") + "\(types.a) -> \(types.c)"
        return ConformanceCase(.softmax, name, shapeClass: shapeClass, shape: "\(layout.shape)", values: "normal x4",
                               bound: storageBound(types.c)) { (h) throws(TensorError) in
            let (bytes, source) = storageValues(h.values(sourceCount, "normal", scale: 4), types.a)
            let count = layout.elementCount
            let out = try h.outputBytes(count * types.c.byteSize)
            try h.run(.softmax(input: try h.inputBytes(bytes), layout: layout, logarithm: logarithm, output: out.buffer,
                               types: types))
            let actual = decode(try h.readBytes(out, byteCount: count * types.c.byteSize), types.c, count: count)
            let x = References.strided(source, layout)
            let (rows, columns) = (layout.shape[0], layout.shape[1])
            let eps32 = 0x1p-24
            var reference: [Double] = [], bounds: [Double] = []
            for r in 0..<rows {
                let row = x[(r * columns)..<((r + 1) * columns)]
                let top = row.max()!
                let total = row.reduce(0.0) { $0 + exp($1 - top) }
                let dmax = row.map { top - $0 }.max()!
                for value in row {
                    let d = value - top
                    if logarithm {
                        let expected = d - log(total)
                        let slack = 0x1p-21 + (Double(columns) + 4 * (3 + 2 * dmax) + 16) * eps32
                            * (1 + abs(value) + abs(top) + log(total))
                        reference.append(expected)
                        bounds.append(halfUlp(abs(expected) + slack, types.c) + slack)
                    } else {
                        let expected = exp(d) / total
                        let slack = (Double(columns) + 2 * (6 + 2 * abs(d) + 2 * dmax) + 8) * eps32 * expected
                        reference.append(expected)
                        bounds.append(halfUlp(expected + slack, types.c) + slack)
                    }
                }
            }
            return .init(actual: withinBounds(actual, reference, bounds), reference: reference)
        }
    }
}

extension ConformanceTable {
    /// Attention forward (output and logSumExp) at the attention shapes (one element, primes
    /// with Lq != Lk both ways and a value dimension apart from the head's, several workgroups
    /// and key tiles), unmasked, causal, and a [B, 1, 1, Lk] -inf padding mask with causal.
    static func storageAttentionCases() -> [ConformanceCase] {
        let typeSets: [OperandTypes] = [
            OperandTypes(a: .float16, b: .float16, c: .float16),
            OperandTypes(a: .bfloat16, b: .bfloat16, c: .bfloat16),
            OperandTypes(a: .float32, b: .float16, c: .float32),
            OperandTypes(a: .bfloat16, b: .float32, c: .float16),
        ]
        var cases: [ConformanceCase] = []
        for types in typeSets {
            for s in attentionShapes {
                for (maskName, causal, padded) in [("unmasked", false, false), ("causal", true, false),
                                                   ("padding -inf, causal", true, true)] {
                    let shape = "q [\(s.b), \(s.h), \(s.lq), \(s.dh)] k [\(s.lk)] v [\(s.dv)]"
                    cases.append(ConformanceCase(.attentionForward, "attentionForward \(maskName) \(types)",
                                                 shapeClass: s.shapeClass, shape: shape, values: "normal",
                                                 bound: storageBound(types.c)) { (h) throws(TensorError) in
                        try storageAttentionCase(h, s, types, causal: causal, padded: padded)
                    })
                }
            }
        }
        return cases
    }

    /// Bounds: with A = scale max_j sum_d |q_d| |k_jd| for a query, each float32 score errs by
    /// at most dh eps32 A and no two visible scores differ by more than 2A. Each probability
    /// then carries a relative error of 2 dh eps32 A plus the exp errors the Vulkan spec allows
    /// (3 + 2|d| ulps, 2 eps32 each, |d| <= 2A: its own, the sum's largest, and one per
    /// rescaling of the running sum, one per key tile of 16) and lk eps32 for the sum; the output (sum_j p_j v_j) errs by that
    /// relative error of sum_j p_j |v_j|, plus lk eps32 of it for the accumulation. logSumExp
    /// (float32) errs by the score error, the sum's relative error, and log's 3 ulps or 2^-21.
    private static func storageAttentionCase(_ h: Harness, _ s: AttentionShape, _ types: OperandTypes, causal: Bool,
                                             padded: Bool) throws(TensorError) -> ConformanceCase.Computed {
        let bh = s.b * s.h
        let (qBytes, q) = storageValues(h.values(bh * s.lq * s.dh, "normal"), types.a)
        let (kBytes, k) = storageValues(h.values(bh * s.lk * s.dh, "normal"), types.b)
        let (vBytes, v) = storageValues(h.values(bh * s.lk * s.dv, "normal"), types.b)
        let scale = 1 / Float(s.dh).squareRoot()
        let geometry = AttentionGeometry(batch: s.b, heads: s.h, queryLength: s.lq, keyLength: s.lk, headDimension: s.dh,
                                         valueDimension: s.dv, scale: scale, causal: causal)
        var full: [Float]?
        var mask: AttentionMask?
        if padded {
            // The last lk / 3 keys of every batch (key 0 stays visible, so no row is empty).
            let values = (0..<(s.b * s.lk)).map { $0 % s.lk >= s.lk - s.lk / 3 ? -Float.infinity : 0 }
            full = (0..<(bh * s.lq * s.lk)).map { values[$0 / (s.h * s.lq * s.lk) * s.lk + $0 % s.lk] }
            mask = AttentionMask(buffer: try h.input(values),
                                 layout: StridedLayout(shape: [s.b, s.h, s.lq, s.lk], strides: [s.lk, 0, 0, 1]))
        }
        let expected = attentionReference(q, k, v, mask: full, s, scale: Double(scale), causal: causal, gradOutput: nil)
        let magnitude = attentionReference(q, k, v.map(abs), mask: full, s, scale: Double(scale), causal: causal,
                                           gradOutput: nil)
        let count = bh * s.lq * s.dv
        let out = try h.outputBytes(count * types.c.byteSize), lse = try h.output(bh * s.lq)
        try h.run(.attentionForward(geometry, query: try h.inputBytes(qBytes), key: try h.inputBytes(kBytes),
                                    value: try h.inputBytes(vBytes), mask: mask, output: out.buffer,
                                    logSumExp: lse.buffer, types: types))
        let eps32 = 0x1p-24
        var outputBounds: [Double] = [], lseBounds: [Double] = []
        for row in 0..<(bh * s.lq) {
            let head = row / s.lq
            var a = 0.0
            for j in 0..<s.lk {
                var sum = 0.0
                for d in 0..<s.dh { sum += abs(Double(q[row * s.dh + d]) * Double(k[(head * s.lk + j) * s.dh + d])) }
                a = max(a, sum)
            }
            a *= Double(scale)
            let scoreError = Double(s.dh) * eps32 * a
            // The probability's own exp, the largest in the sum, and one rescaling per key tile.
            let expUlps = Double(2 + s.lk / 16 + 1) * (3 + 4 * a)
            let relative = 2 * scoreError + 2 * eps32 * expUlps + 2 * Double(s.lk) * eps32 + 8 * eps32
            for d in 0..<s.dv {
                let slack = relative * magnitude.output[row * s.dv + d]
                outputBounds.append(halfUlp(abs(expected.output[row * s.dv + d]) + slack, types.c) + slack)
            }
            lseBounds.append(0x1p-21 + scoreError + relative + 8 * eps32 * abs(expected.logSumExp[row]))
        }
        let actual = decode(try h.readBytes(out, byteCount: count * types.c.byteSize), types.c, count: count)
            + (try h.read(lse)).map(Double.init)
        let reference = expected.output + expected.logSumExp
        return .init(actual: withinBounds(actual, reference, outputBounds + lseBounds), reference: reference)
    }
}
