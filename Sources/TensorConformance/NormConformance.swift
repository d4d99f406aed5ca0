import Foundation
import TensorCore

/// Conformance of `layerNorm`, `rmsNorm` and their backwards against float64: one row, a
/// prime count, rows of 1, 7, 384 and 1031 columns, enough rows for many workgroups, no rows;
/// with and without weight and bias; normal values and rows of mean 1e4 + N(0, 1) (where a
/// one-pass variance, or a float mean subtracted in backward, would lose digits).
///
/// Forward checks y, the per-row mean and rstd; backward gradInput, gradWeight and gradBias,
/// from the mean and rstd the backend's own forward stored.
extension ConformanceTable {
    /// Normalisations: float sums of up to ~1000 terms per row and a float-rounded mean;
    /// measured nmse below 3e-14 on the CPU and lavapipe, large-mean rows included.
    public static let normBound = 1e-10

    static let normShapes: [(String, Int, Int)] = [
        ("1", 1, 1), ("prime", 13, 7), ("columns 1", 5, 1), ("384", 3, 384), ("1031", 2, 1031),
        ("many workgroups", 67, 384), ("many short rows", 300, 7), ("no rows", 0, 384),
    ]

    /// (has weight, has bias) pairs for forward; for backward, the same with the sums asked for.
    static let normAffine: [(Bool, Bool)] = [(true, true), (false, false), (true, false)]

    static func normInput(_ h: Harness, _ count: Int, _ values: String) -> [Float] {
        values == "large mean" ? h.values(count, "normal").map { 1e4 + $0 } : h.values(count, "normal")
    }

    /// Float64 (mean, rstd) of one row.
    static func normStatistics(_ row: ArraySlice<Float>, centered: Bool, epsilon: Float) -> (Double, Double) {
        let n = Double(row.count)
        let mean = centered ? row.reduce(0.0) { $0 + Double($1) } / n : 0
        let variance = row.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n
        return (mean, 1 / (variance + Double(epsilon)).squareRoot())
    }

    static func normCases() -> [ConformanceCase] {
        [true, false].flatMap { centered in
            normShapes.flatMap { shapeClass, rows, columns in
                ["normal", "large mean"].flatMap { values in
                    // A weight without a bias (LayerNorm) at one shape only: the suite's time is shared.
                    let affines = centered ? normAffine.filter { $0.0 == $0.1 || shapeClass == "prime" }
                        : [(true, false), (false, false)]
                    return affines.flatMap { affine in
                        // RMSNorm's gradient over a single column is eps * rstd^3 * g, the
                        // difference of two nearly equal float terms: ill-conditioned in any
                        // float implementation, so only its forward is held to the bound.
                        [normForwardCase(centered, shapeClass, rows, columns, values, affine)]
                            + (centered || columns > 1
                               ? [normBackwardCase(centered, shapeClass, rows, columns, values, affine)] : [])
                    }
                }
            }
        }
    }

    static func normForwardCase(_ centered: Bool, _ shapeClass: String, _ rows: Int, _ columns: Int, _ values: String,
                                _ affine: (Bool, Bool)) -> ConformanceCase {
        let name = (centered ? "layerNorm" : "rmsNorm") + (affine.0 ? " weight" : "") + (affine.1 ? " bias" : "")
        return ConformanceCase(centered ? .layerNorm : .rmsNorm, name, shapeClass: shapeClass, shape: "[\(rows), \(columns)]",
                               values: values, bound: normBound) { (h) throws(TensorError) in
            let epsilon: Float = centered ? 1e-5 : 1e-6
            let x = normInput(h, rows * columns, values)
            let w = affine.0 ? h.values(columns, "normal") : nil, b = affine.1 ? h.values(columns, "normal") : nil
            let y = try h.output(rows * columns), mean = try h.output(rows), rstd = try h.output(rows)
            let xb = try h.input(x), wb = try w.map { (v) throws(TensorError) in try h.input(v) }
            let bb = try b.map { (v) throws(TensorError) in try h.input(v) }
            try h.run(centered
                ? .layerNorm(input: xb, weight: wb, bias: bb, rows: rows, columns: columns, epsilon: epsilon,
                             output: y.buffer, mean: mean.buffer, rstd: rstd.buffer)
                : .rmsNorm(input: xb, weight: wb, rows: rows, columns: columns, epsilon: epsilon, output: y.buffer,
                           rstd: rstd.buffer))
            var expectedY = [Double](repeating: 0, count: rows * columns)
            var expectedMean = [Double](), expectedRstd = [Double]()
            for r in 0..<rows {
                let (m, s) = normStatistics(x[(r * columns)..<((r + 1) * columns)], centered: centered, epsilon: epsilon)
                expectedMean.append(m)
                expectedRstd.append(s)
                for c in 0..<columns {
                    expectedY[r * columns + c] = (Double(x[r * columns + c]) - m) * s * Double(w?[c] ?? 1) + Double(b?[c] ?? 0)
                }
            }
            let actual = try h.read(y) + (centered ? h.read(mean) : []) + h.read(rstd)
            return .init(actual: actual, reference: expectedY + (centered ? expectedMean : []) + expectedRstd)
        }
    }

    static func normBackwardCase(_ centered: Bool, _ shapeClass: String, _ rows: Int, _ columns: Int, _ values: String,
                                 _ affine: (Bool, Bool)) -> ConformanceCase {
        // affine.0: a weight (and its gradient); affine.1: the bias gradient (LayerNorm only).
        let name = (centered ? "layerNormBackward" : "rmsNormBackward") + (affine.0 ? " weight" : "") + (affine.1 ? " bias" : "")
        return ConformanceCase(centered ? .layerNormBackward : .rmsNormBackward, name, shapeClass: shapeClass,
                               shape: "[\(rows), \(columns)]", values: values, bound: normBound) { (h) throws(TensorError) in
            let epsilon: Float = centered ? 1e-5 : 1e-6
            let x = normInput(h, rows * columns, values), dy = h.values(rows * columns, "normal")
            let w = affine.0 ? h.values(columns, "normal") : nil
            let xb = try h.input(x), wb = try w.map { (v) throws(TensorError) in try h.input(v) }
            let y = try h.output(rows * columns), mean = try h.output(rows), rstd = try h.output(rows)
            try h.run(centered
                ? .layerNorm(input: xb, weight: wb, bias: nil, rows: rows, columns: columns, epsilon: epsilon,
                             output: y.buffer, mean: mean.buffer, rstd: rstd.buffer)
                : .rmsNorm(input: xb, weight: wb, rows: rows, columns: columns, epsilon: epsilon, output: y.buffer,
                           rstd: rstd.buffer))
            let dx = try h.output(rows * columns), dw = try h.output(columns), db = try h.output(columns)
            let dyb = try h.input(dy)
            try h.run(centered
                ? .layerNormBackward(input: xb, weight: wb, gradOutput: dyb, mean: mean.buffer, rstd: rstd.buffer,
                                     rows: rows, columns: columns, gradInput: dx.buffer,
                                     gradWeight: affine.0 ? dw.buffer : nil, gradBias: affine.1 ? db.buffer : nil)
                : .rmsNormBackward(input: xb, weight: wb, gradOutput: dyb, rstd: rstd.buffer, rows: rows, columns: columns,
                                   gradInput: dx.buffer, gradWeight: affine.0 ? dw.buffer : nil))
            var expectedDx = [Double](repeating: 0, count: rows * columns)
            var expectedDw = [Double](repeating: 0, count: columns), expectedDb = [Double](repeating: 0, count: columns)
            let n = Double(columns)
            for r in 0..<rows {
                let (m, s) = normStatistics(x[(r * columns)..<((r + 1) * columns)], centered: centered, epsilon: epsilon)
                let xh = (0..<columns).map { (Double(x[r * columns + $0]) - m) * s }
                let g = (0..<columns).map { Double(dy[r * columns + $0]) * Double(w?[$0] ?? 1) }
                let meanG = centered ? g.reduce(0, +) / n : 0
                let meanGX = zip(g, xh).reduce(0.0) { $0 + $1.0 * $1.1 } / n
                for c in 0..<columns {
                    expectedDx[r * columns + c] = s * (g[c] - meanG - xh[c] * meanGX)
                    expectedDw[c] += Double(dy[r * columns + c]) * xh[c]
                    expectedDb[c] += Double(dy[r * columns + c])
                }
            }
            let actual = try h.read(dx) + (affine.0 ? h.read(dw) : []) + (affine.1 ? h.read(db) : [])
            return .init(actual: actual, reference: expectedDx + (affine.0 ? expectedDw : []) + (affine.1 ? expectedDb : []))
        }
    }

    /// The memory-sharing backward (``BackendOp/normBackwardFromOutput(output:weight:bias:gradOutput:rstd:rows:columns:centered:gradInput:gradWeight:gradBias:)``)
    /// at every norm shape, from the y and rstd of the backend's own forward, against its float64
    /// definition (xh = (y - bias) / weight, 0 where weight is 0): with weight and bias, with
    /// neither, with a weight only; "zero weights" sets every third weight to exactly 0.
    static func normFromOutputCases() -> [ConformanceCase] {
        [true, false].flatMap { centered in
            normShapes.flatMap { shapeClass, rows, columns in
                let affines = centered ? normAffine : [(true, false), (false, false)]
                return affines.flatMap { affine in
                    (affine.0 ? ["normal", "zero weights"] : ["normal"]).compactMap { values in
                        // As above: RMSNorm's single-column gradient is ill-conditioned.
                        centered || columns > 1 ? normFromOutputCase(centered, shapeClass, rows, columns, values, affine) : nil
                    }
                }
            }
        }
    }

    static func normFromOutputCase(_ centered: Bool, _ shapeClass: String, _ rows: Int, _ columns: Int, _ values: String,
                                   _ affine: (Bool, Bool)) -> ConformanceCase {
        let name = "normBackwardFromOutput " + (centered ? "layerNorm" : "rmsNorm") + (affine.0 ? " weight" : "")
            + (affine.1 ? " bias" : "")
        return ConformanceCase(.normBackwardFromOutput, name, shapeClass: shapeClass, shape: "[\(rows), \(columns)]",
                               values: values, bound: normBound) { (h) throws(TensorError) in
            let epsilon: Float = centered ? 1e-5 : 1e-6
            let x = h.values(rows * columns, "normal"), dy = h.values(rows * columns, "normal")
            var w = affine.0 ? h.values(columns, "normal") : nil
            if values == "zero weights" { for c in stride(from: 0, to: columns, by: 3) { w?[c] = 0 } }
            let b = affine.1 ? h.values(columns, "normal") : nil
            let wb = try w.map { (v) throws(TensorError) in try h.input(v) }
            let bb = try b.map { (v) throws(TensorError) in try h.input(v) }
            let y = try h.output(rows * columns), mean = try h.output(rows), rstd = try h.output(rows)
            try h.run(centered
                ? .layerNorm(input: try h.input(x), weight: wb, bias: bb, rows: rows, columns: columns, epsilon: epsilon,
                             output: y.buffer, mean: mean.buffer, rstd: rstd.buffer)
                : .rmsNorm(input: try h.input(x), weight: wb, rows: rows, columns: columns, epsilon: epsilon,
                           output: y.buffer, rstd: rstd.buffer))
            let dx = try h.output(rows * columns), dw = try h.output(columns), db = try h.output(columns)
            try h.run(.normBackwardFromOutput(output: y.buffer, weight: wb, bias: bb, gradOutput: try h.input(dy),
                                              rstd: rstd.buffer, rows: rows, columns: columns, centered: centered,
                                              gradInput: dx.buffer, gradWeight: affine.0 ? dw.buffer : nil,
                                              gradBias: affine.1 ? db.buffer : nil))
            let yValues = try h.read(y), rstdValues = try h.read(rstd)
            var expectedDx = [Double](repeating: 0, count: rows * columns)
            var expectedDw = [Double](repeating: 0, count: columns), expectedDb = [Double](repeating: 0, count: columns)
            let n = Double(columns)
            for r in 0..<rows {
                let s = Double(rstdValues[r])
                let xh = (0..<columns).map { c -> Double in
                    let shifted = Double(yValues[r * columns + c]) - Double(b?[c] ?? 0)
                    guard let w else { return shifted }
                    return w[c] == 0 ? 0 : shifted / Double(w[c])
                }
                let g = (0..<columns).map { Double(dy[r * columns + $0]) * Double(w?[$0] ?? 1) }
                let meanG = centered ? g.reduce(0, +) / n : 0
                let meanGX = zip(g, xh).reduce(0.0) { $0 + $1.0 * $1.1 } / n
                for c in 0..<columns {
                    expectedDx[r * columns + c] = s * (g[c] - meanG - xh[c] * meanGX)
                    expectedDw[c] += Double(dy[r * columns + c]) * xh[c]
                    expectedDb[c] += Double(dy[r * columns + c])
                }
            }
            let actual = try h.read(dx) + (affine.0 ? h.read(dw) : []) + (affine.1 ? h.read(db) : [])
            return .init(actual: actual, reference: expectedDx + (affine.0 ? expectedDw : []) + (affine.1 ? expectedDb : []))
        }
    }
}
