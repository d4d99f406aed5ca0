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

/// Conformance of `deltaUpdate`: the deltas, the updated reference and the transmitted count,
/// at thresholds 0 (every change), a typical one and infinity (none, but NaN still goes),
/// with unchanged inputs, NaN and infinite ones, at 1, prime and multi-workgroup sizes; exact.
extension ConformanceTable {
    static func deltaUpdateCases() -> [ConformanceCase] {
        [(1, "1"), (257, "prime"), (65_537, "large")].flatMap { count, shapeClass in
            [Float(0), 0.3, .infinity].map { theta in
                ConformanceCase(.deltaUpdate, "deltaUpdate theta \(theta)", shapeClass: shapeClass, shape: "[\(count)]",
                                values: "normal, unchanged, NaN, inf", bound: exactBound, exactSigns: true) { (h) throws(TensorError) in
                    let reference = h.values(count, "normal")
                    var x = h.values(count, "normal", scale: 0.5)
                    for i in x.indices {
                        switch h.rng.next() % 10 {
                        case 0: x[i] = reference[i]
                        case 1: x[i] = .nan
                        case 2: x[i] = -.infinity
                        default: x[i] += reference[i]
                        }
                    }
                    let kept = try h.output(count), delta = try h.output(count), counter = try h.output(1)
                    let initial = try h.inputBytes(rawBytes(reference))
                    try h.run(.copyStrided(source: initial, layout: .contiguous([count]), destination: kept.buffer))
                    try h.run(.fill(counter.buffer, value: 0, count: 1))
                    try h.run(.deltaUpdate(input: try h.input(x), reference: kept.buffer, theta: theta, count: count,
                                           delta: delta.buffer, transmitted: counter.buffer))
                    var expectedDelta = [Double](repeating: 0, count: count), expectedKept = reference.map(Double.init)
                    var sent = 0
                    for i in 0..<count {
                        let d = x[i] - reference[i]   // float32, as the kernels compute it
                        if !(Swift.abs(d) < theta) {
                            expectedDelta[i] = Double(d)
                            expectedKept[i] = Double(x[i])
                            sent += 1
                        }
                    }
                    let got = try h.read(counter)[0].bitPattern
                    let countMatches = Int32(bitPattern: got) == Int32(sent)
                    return .init(actual: try h.read(delta) + h.read(kept) + [countMatches ? 1 : .nan],
                                 reference: expectedDelta + expectedKept + [1])
                }
            }
        }
    }
}
