import TensorCore

/// Conformance of the embedding ops: `gatherRows` (exact copies of float32 and of any float16
/// bit pattern; out-of-range indices give zero rows) and the deterministic `scatterAddRows`
/// against a float64 sum, at 1, prime, several-workgroup (of outputs, and of indices to sort)
/// and empty shapes, with uniform, all-equal, a few hot and out-of-range indices.
extension ConformanceTable {
    /// (class, rows, columns, count).
    static let embeddingShapes: [(String, Int, Int, Int)] = [
        ("1", 1, 1, 1), ("prime", 31, 7, 37), ("several workgroups", 257, 33, 67), ("empty", 5, 3, 0),
        ("wide rows", 3, 1025, 5), ("many indices", 97, 3, 1031),
    ]

    /// Indices of a class: "uniform", "all same", "few hot" (3 values), "out of range" (a quarter outside 0..<rows).
    static func embeddingIndices(_ h: Harness, count: Int, rows: Int, _ kind: String) -> [Int32] {
        (0..<count).map { n in
            let draw = Int32(h.rng.next() % UInt64(rows))
            switch kind {
            case "all same": return Int32(rows - 1)
            case "few hot": return [0, Int32(rows / 2), Int32(rows - 1)][Int(h.rng.next() % 3)]
            case "out of range":
                switch h.rng.next() % 8 {
                case 0: return Int32(rows + n % 3)
                case 1: return -1 - Int32(n % 2)
                default: return draw
                }
            default: return draw
            }
        }
    }

    static func embeddingCases() -> [ConformanceCase] {
        embeddingShapes.flatMap { shapeClass, rows, columns, count in
            ["uniform", "all same", "few hot", "out of range"].flatMap { kind in
                [
                    ConformanceCase(.gatherRows, "gatherRows float32", shapeClass: shapeClass, shape: "[\(rows), \(columns)] x \(count)",
                                    values: "normal, \(kind)", bound: exactBound, exactSigns: true) { (h) throws(TensorError) in
                        let table = h.values(rows * columns, "normal")
                        let indices = embeddingIndices(h, count: count, rows: rows, kind)
                        let out = try h.output(count * columns)
                        try h.run(.gatherRows(table: try h.input(table), dtype: .float32, rows: rows, columns: columns,
                                              indices: try h.inputBytes(rawBytes(indices)), count: count, output: out.buffer))
                        var reference = [Double](repeating: 0, count: count * columns)
                        for (n, index) in indices.enumerated() where index >= 0 && Int(index) < rows {
                            for c in 0..<columns { reference[n * columns + c] = Double(table[Int(index) * columns + c]) }
                        }
                        return .init(actual: try h.read(out), reference: reference)
                    },
                    // 2-byte elements: any bit pattern (NaN, infinities, subnormals) copied exactly; odd
                    // shapes end mid-word.
                    ConformanceCase(.gatherRows, "gatherRows float16", shapeClass: shapeClass, shape: "[\(rows), \(columns)] x \(count)",
                                    values: "all patterns, \(kind)", bound: exactBound, exactSigns: true) { (h) throws(TensorError) in
                        let table = (0..<(rows * columns)).map { _ in UInt16(truncatingIfNeeded: h.rng.next()) }
                        let indices = embeddingIndices(h, count: count, rows: rows, kind)
                        let bytes = count * columns * 2
                        let out = try h.outputBytes(bytes)
                        try h.run(.gatherRows(table: try h.inputBytes(rawBytes(table)), dtype: .float16, rows: rows, columns: columns,
                                              indices: try h.inputBytes(rawBytes(indices)), count: count, output: out.buffer))
                        let got = try h.readBytes(out, byteCount: bytes)
                        let actual = (0..<(count * columns)).map { i in
                            Float(halfValue(UInt16(got[2 * i]) | UInt16(got[2 * i + 1]) << 8))
                        }
                        var reference = [Double](repeating: 0, count: count * columns)
                        for (n, index) in indices.enumerated() where index >= 0 && Int(index) < rows {
                            for c in 0..<columns { reference[n * columns + c] = halfValue(table[Int(index) * columns + c]) }
                        }
                        return .init(actual: actual, reference: reference)
                    },
                    ConformanceCase(.scatterAddRows, "scatterAddRows", shapeClass: shapeClass,
                                    shape: "\(count) x \(columns) into [\(rows), \(columns)]", values: "normal, \(kind)",
                                    bound: reduceBound) { (h) throws(TensorError) in
                        let source = h.values(count * columns, "normal")
                        let indices = embeddingIndices(h, count: count, rows: rows, kind)
                        let out = try h.output(rows * columns)
                        try h.run(.scatterAddRows(source: try h.input(source), indices: try h.inputBytes(rawBytes(indices)),
                                                  count: count, columns: columns, rows: rows, output: out.buffer))
                        var reference = [Double](repeating: 0, count: rows * columns)
                        for (n, index) in indices.enumerated() where index >= 0 && Int(index) < rows {
                            for c in 0..<columns { reference[Int(index) * columns + c] += Double(source[n * columns + c]) }
                        }
                        return .init(actual: try h.read(out), reference: reference)
                    },
                ]
            }
        }
    }
}
