import TensorCore

/// Conformance of Mesa's 8-bit storage (`groupQuantize`, `groupDequantize`) against its
/// float64 definition (``GroupQuantization``): one element, groups that straddle code words
/// and rows (7 columns in groups of 4), a row of 384 in groups of 64, a row of 100 whose
/// last group is short, groups of 1, a group longer than the row, many rows, no rows; normal,
/// large and mostly-zero values (all-zero groups have scale 0 and codes 0).
///
/// Quantise checks the decoded codes, the padding bytes and the scales with bound 0 (bit
/// for bit): the scale is one float multiplication (correctly rounded on every backend), and a
/// code is `roundEven(x / scale)`. The one tolerance: the
/// division rounds (a GPU's to 2.5 ulp), so where the float64 quotient lies within 1e-4 of
/// a half-integer the backend's code may be either neighbour. Dequantise checks `code *
/// scale` over every code -128...127 (sign extension included).
extension ConformanceTable {
    static let quantizeShapes: [(String, Int, Int, Int)] = [
        ("1", 1, 1, 64), ("straddling words", 13, 7, 4), ("384", 3, 384, 64), ("short last group", 5, 100, 64),
        ("groups of 1", 4, 9, 1), ("group longer than row", 3, 37, 64), ("many rows", 257, 384, 64),
        ("no rows", 0, 384, 64),
    ]

    static func quantizeCases() -> [ConformanceCase] {
        quantizeShapes.flatMap { shapeClass, rows, columns, groupSize in
            ["normal", "large", "zeros"].map { values in
                quantizeCase(shapeClass, GroupQuantization(rows: rows, columns: columns, groupSize: groupSize), values)
            } + [dequantizeCase(shapeClass, GroupQuantization(rows: rows, columns: columns, groupSize: groupSize))]
        }
    }

    /// Float64 scale and codes of one group, with each element's quotient x / scale.
    static func quantizeReference(_ group: ArraySlice<Float>) -> (scale: Float, codes: [Double], quotients: [Double]) {
        let largest = group.reduce(0.0) { max($0, Double(abs($1))) }
        let scale = Float(largest * Double(GroupQuantization.scaleFactor))
        let limit = Double(GroupQuantization.maxCode)
        let quotients = group.map { scale > 0 ? Double($0) / Double(scale) : 0 }
        return (scale, quotients.map { min(max($0.rounded(.toNearestOrEven), -limit), limit) }, quotients)
    }

    static func quantizeCase(_ shapeClass: String, _ layout: GroupQuantization, _ values: String) -> ConformanceCase {
        ConformanceCase(.groupQuantize, "groupQuantize g\(layout.groupSize)", shapeClass: shapeClass,
                        shape: "[\(layout.rows), \(layout.columns)]", values: values, bound: 0) { (h) throws(TensorError) in
            let x = h.values(layout.count, values)
            let codes = try h.output(layout.codeWordCount), scales = try h.output(layout.scaleCount)
            try h.run(.groupQuantize(layout, input: try h.input(x), codes: codes.buffer, scales: scales.buffer))
            let words = try h.read(codes).map(\.bitPattern)
            let decoded = (0..<layout.count).map { Double(Int8(truncatingIfNeeded: words[$0 / 4] >> (8 * UInt32($0 % 4)))) }
            let padding = (layout.count..<(layout.codeWordCount * 4)).map { Double(UInt8(truncatingIfNeeded: words[$0 / 4] >> (8 * UInt32($0 % 4)))) }
            var expectedCodes = [Double](), expectedScales = [Double]()
            for row in 0..<layout.rows {
                for group in 0..<layout.groupsPerRow {
                    let first = row * layout.columns + group * layout.groupSize
                    let last = row * layout.columns + min((group + 1) * layout.groupSize, layout.columns)
                    let reference = quantizeReference(x[first..<last])
                    expectedScales.append(Double(reference.scale))
                    for (offset, (code, quotient)) in zip(reference.codes, reference.quotients).enumerated() {
                        let actual = decoded[first + offset]
                        let nearTie = abs(abs(quotient - code) - 0.5) < 1e-4
                        expectedCodes.append(nearTie && abs(actual - code) == 1 ? actual : code)
                    }
                }
            }
            return .init(actual: decoded.map(Float.init) + padding.map(Float.init) + (try h.read(scales)),
                         reference: expectedCodes + padding.map { _ in 0 } + expectedScales)
        }
    }

    static func dequantizeCase(_ shapeClass: String, _ layout: GroupQuantization) -> ConformanceCase {
        ConformanceCase(.groupDequantize, "groupDequantize g\(layout.groupSize)", shapeClass: shapeClass,
                        shape: "[\(layout.rows), \(layout.columns)]", values: "codes -128...127", bound: exactBound) { (h) throws(TensorError) in
            let codes = (0..<(layout.codeWordCount * 4)).map { _ in Int8(truncatingIfNeeded: h.rng.next()) }
            let scales = h.values(layout.scaleCount, "normal").map { abs($0) }
            let out = try h.output(layout.count)
            try h.run(.groupDequantize(layout, codes: try h.inputBytes(rawBytes(codes)), scales: try h.input(scales),
                                       output: out.buffer))
            let reference = (0..<layout.count).map { i in
                let row = i / layout.columns, column = i % layout.columns
                return Double(codes[i]) * Double(scales[row * layout.groupsPerRow + column / layout.groupSize])
            }
            return .init(actual: try h.read(out), reference: reference)
        }
    }
}
