import TensorCore

/// Conformance of `oneHot`: valid, ignored (-100 and a custom index) and out-of-range labels
/// (NaN rows), at 1, prime and multi-workgroup shapes; exact.
extension ConformanceTable {
    static func oneHotCases() -> [ConformanceCase] {
        [("1", 1, 1), ("prime", 257, 31), ("wide", 3, 1025), ("tall", 4099, 3), ("empty", 0, 5), ("no classes", 4, 0)]
            .flatMap { shapeClass, rows, classes in
                [Int32(-100), 7].map { ignoreIndex in
                    ConformanceCase(.oneHot, "oneHot ignore \(ignoreIndex)", shapeClass: shapeClass, shape: "[\(rows)] x \(classes)",
                                    values: "valid, ignored, out of range", bound: exactBound, exactSigns: true) { (h) throws(TensorError) in
                        let labels: [Int32] = (0..<rows).map { row in
                            switch h.rng.next() % 8 {
                            case 0: return ignoreIndex
                            case 1: return Int32(classes) + Int32(row % 3)          // out of range above
                            case 2: return -1 - Int32(row % 2)                       // out of range below
                            default: return classes == 0 ? 0 : Int32(h.rng.next() % UInt64(classes))
                            }
                        }
                        let out = try h.output(rows * classes)
                        let input = try h.inputBytes(rawBytes(labels))
                        try h.run(.oneHot(labels: input, rows: rows, classes: classes, ignoreIndex: ignoreIndex,
                                          output: out.buffer))
                        var reference = [Double](repeating: 0, count: rows * classes)
                        for (row, label) in labels.enumerated() where label != ignoreIndex {
                            for c in 0..<classes {
                                reference[row * classes + c] = label < 0 || Int(label) >= classes
                                    ? .nan : (Int(label) == c ? 1 : 0)
                            }
                        }
                        return .init(actual: try h.read(out), reference: reference)
                    }
                }
            }
    }
}
