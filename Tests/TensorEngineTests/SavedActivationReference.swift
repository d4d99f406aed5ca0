import TensorEngine

/// Float64 references of what the training-memory modes compute in backward, independent of
/// the engine: Mesa's group quantisation and dequantisation, and LayerNorm/RMSNorm backward
/// from the input or from the output.
enum SavedActivationReference {
    /// `x` [rows, columns] quantised in groups of `groupSize` along each row and dequantised:
    /// scale = max|x| times the float32 nearest 1/127 (rounded once to float32), code =
    /// roundEven(x / scale) clamped to +-127, value = code * scale.
    static func dequantized(_ x: [Float], columns: Int, groupSize: Int) -> [Double] {
        var result = [Double](repeating: 0, count: x.count)
        let factor = Double(Float(1) / 127)
        for rowStart in stride(from: 0, to: x.count, by: columns) {
            for groupStart in stride(from: 0, to: columns, by: groupSize) {
                let range = (rowStart + groupStart)..<(rowStart + min(groupStart + groupSize, columns))
                let largest = x[range].reduce(0.0) { max($0, Double(abs($1))) }
                let scale = Double(Float(largest * factor))
                for i in range {
                    let code = scale > 0 ? min(max((Double(x[i]) / scale).rounded(.toNearestOrEven), -127), 127) : 0
                    result[i] = code * scale
                }
            }
        }
        return result
    }

    /// Per-row (mean, rstd) of `x` [rows, columns] in float64.
    static func statistics(_ x: [Double], columns: Int, centered: Bool, epsilon: Double) -> [(Double, Double)] {
        stride(from: 0, to: x.count, by: columns).map { start in
            let row = x[start..<(start + columns)]
            let mean = centered ? row.reduce(0, +) / Double(columns) : 0
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(columns)
            return (mean, 1 / (variance + epsilon).squareRoot())
        }
    }

    /// Norm backward from the normalised input `xh` (per row) and rstd: (dx, dw, db).
    static func normBackward(xh: [Double], rstd: [Double], dy: [Float], weight: [Float]?, columns: Int,
                             centered: Bool) -> (dx: [Double], dw: [Double], db: [Double]) {
        var dx = [Double](repeating: 0, count: xh.count)
        var dw = [Double](repeating: 0, count: columns), db = [Double](repeating: 0, count: columns)
        let n = Double(columns)
        for (r, start) in stride(from: 0, to: xh.count, by: columns).enumerated() {
            let g = (0..<columns).map { Double(dy[start + $0]) * Double(weight?[$0] ?? 1) }
            let meanG = centered ? g.reduce(0, +) / n : 0
            let meanGX = (0..<columns).reduce(0.0) { $0 + g[$1] * xh[start + $1] } / n
            for c in 0..<columns {
                dx[start + c] = rstd[r] * (g[c] - meanG - xh[start + c] * meanGX)
                dw[c] += Double(dy[start + c]) * xh[start + c]
                db[c] += Double(dy[start + c])
            }
        }
        return (dx, dw, db)
    }

    /// The exact backward at input `x`: xh = (x - mean) * rstd with x's own statistics.
    static func normBackwardFromInput(_ x: [Double], dy: [Float], weight: [Float]?, columns: Int, centered: Bool,
                                      epsilon: Double) -> (dx: [Double], dw: [Double], db: [Double]) {
        let stats = statistics(x, columns: columns, centered: centered, epsilon: epsilon)
        let xh = x.indices.map { (x[$0] - stats[$0 / columns].0) * stats[$0 / columns].1 }
        return normBackward(xh: xh, rstd: stats.map(\.1), dy: dy, weight: weight, columns: columns, centered: centered)
    }

    /// The memory-sharing backward from output `y` and `rstd`: xh = (y - bias) / weight, 0 where weight is 0.
    static func normBackwardFromOutput(_ y: [Double], rstd: [Double], dy: [Float], weight: [Float]?, bias: [Float]?,
                                       columns: Int, centered: Bool) -> (dx: [Double], dw: [Double], db: [Double]) {
        let xh = y.indices.map { i -> Double in
            let c = i % columns
            let shifted = y[i] - Double(bias?[c] ?? 0)
            guard let weight else { return shifted }
            return weight[c] == 0 ? 0 : shifted / Double(weight[c])
        }
        return normBackward(xh: xh, rstd: rstd, dy: dy, weight: weight, columns: columns, centered: centered)
    }
}
