import TensorCore

/// Conformance of the selection ops: `select` (broadcast, NaN and signed-zero conditions, up
/// to rank 6), `reduceIndex` (max and min, ties, NaN, strided views), `topK` (both orders,
/// ties, NaN, infinities, k = 1 and k = columns) and `dropout` (probabilities 0, 0.1, 0.5, 1,
/// an offset that crosses 2^32), all exact. Integer outputs (indices) are compared as values.
extension ConformanceTable {
    /// Float values with ties, NaN, infinities and signed zeros among small integers.
    static func awkward(_ h: Harness, _ count: Int) -> [Float] {
        (0..<count).map { _ in
            switch h.rng.next() % 16 {
            case 0: return .nan
            case 1: return .infinity
            case 2: return -.infinity
            case 3: return -0.0
            default: return Float(Int(h.rng.next() % 7) - 3)
            }
        }
    }

    /// int32 words read back through a float buffer, as exact doubles.
    static func integers(_ words: [Float]) -> [Double] {
        words.map { Double(Int32(bitPattern: $0.bitPattern)) }
    }

    static func selectCases() -> [ConformanceCase] {
        // (class, shape, condition strides, a strides, b strides); each operand holds the
        // elements its strides reach.
        let shapes: [(String, [Int], [Int], [Int], [Int])] = [
            ("1", [1], [1], [1], [1]),
            ("prime", [257], [1], [1], [1]),
            ("row broadcast", [31, 7], [0, 1], [7, 1], [0, 0]),
            ("column broadcast", [7, 31], [1, 0], [0, 1], [31, 1]),
            ("large", [65_537], [1], [0], [1]),
            ("rank 6", [2, 3, 2, 3, 2, 3], [0, 6, 0, 2, 0, 1], [108, 36, 18, 6, 3, 1], [1, 0, 2, 0, 6, 0]),
            ("empty", [0, 7], [7, 1], [7, 1], [7, 1]),
        ]
        return shapes.flatMap { shapeClass, shape, cStrides, aStrides, bStrides in
            ["normal", "awkward"].map { values in
                ConformanceCase(.select, "select", shapeClass: shapeClass, shape: "\(shape)", values: values,
                                bound: exactBound, exactSigns: true) { (h) throws(TensorError) in
                    func reach(_ strides: [Int]) -> Int {
                        shape.contains(0) ? 0 : zip(shape, strides).reduce(1) { $0 + ($1.0 - 1) * $1.1 }
                    }
                    let cl = StridedLayout(shape: shape, strides: cStrides), al = StridedLayout(shape: shape, strides: aStrides)
                    let bl = StridedLayout(shape: shape, strides: bStrides)
                    let c: [Float] = (0..<reach(cStrides)).map { _ in
                        [0, -0.0, 1, .nan, -2.5, Float.leastNonzeroMagnitude, 0][Int(h.rng.next() % 7)]
                    }
                    let a = values == "normal" ? h.values(reach(aStrides), "normal") : awkward(h, reach(aStrides))
                    let b = values == "normal" ? h.values(reach(bStrides), "normal") : awkward(h, reach(bStrides))
                    let count = al.elementCount
                    let out = try h.output(count)
                    if count > 0 {
                        try h.run(.select(condition: try h.input(c), conditionLayout: cl, a: try h.input(a), aLayout: al,
                                          b: try h.input(b), bLayout: bl, output: out.buffer))
                    }
                    let rc = References.strided(c, cl), ra = References.strided(a, al), rb = References.strided(b, bl)
                    return .init(actual: try h.read(out), reference: (0..<count).map { rc[$0] != 0 ? ra[$0] : rb[$0] })
                }
            }
        }
    }

    static func reduceIndexCases() -> [ConformanceCase] {
        // (class, source count, layout [outer, axis, inner])
        let layouts: [(String, Int, StridedLayout)] = [
            ("1", 1, .contiguous([1, 1, 1])),
            ("prime axis", 3 * 257 * 5, .contiguous([3, 257, 5])),
            ("large axis", 65_537, .contiguous([1, 65_537, 1])),
            ("many rows", 4099 * 3, .contiguous([4099, 3, 1])),
            ("transposed", 105, StridedLayout(shape: [3, 7, 5], strides: [1, 15, 3])),
            ("offset", 200, StridedLayout(shape: [4, 6, 2], strides: [40, 3, 1], offset: 9)),
            ("empty", 0, .contiguous([0, 5, 3])),
        ]
        return ReduceIndexOp.allCases.flatMap { kind in
            layouts.flatMap { shapeClass, sourceCount, layout in
                ["normal", "awkward"].map { values in
                    ConformanceCase(.reduceIndex, "reduceIndex \(kind)", shapeClass: shapeClass, shape: "\(layout.shape)",
                                    values: values, bound: exactBound, exactSigns: true) { (h) throws(TensorError) in
                        let x = values == "normal" ? h.values(sourceCount, "normal") : awkward(h, sourceCount)
                        let (outer, axis, inner) = (layout.shape[0], layout.shape[1], layout.shape[2])
                        let v = try h.output(outer * inner), i = try h.output(outer * inner)
                        if outer * inner > 0 {
                            try h.run(.reduceIndex(kind, input: try h.input(x), layout: layout, values: v.buffer,
                                                   indices: i.buffer))
                        }
                        // Reference: the first NaN, else the first strict extreme.
                        let view = References.strided(x, layout)
                        var values: [Double] = [], positions: [Double] = []
                        for o in 0..<outer {
                            for j in 0..<inner {
                                let line = (0..<axis).map { view[(o * axis + $0) * inner + j] }
                                let at = line.firstIndex(where: \.isNaN) ?? line.indices.reduce(0) { best, a in
                                    (kind == .max ? line[a] > line[best] : line[a] < line[best]) ? a : best
                                }
                                values.append(line[at])
                                positions.append(Double(at))
                            }
                        }
                        return .init(actual: try h.read(v) + integers(try h.read(i)).map(Float.init),
                                     reference: values + positions)
                    }
                }
            }
        }
    }

    static func topKCases() -> [ConformanceCase] {
        let shapes: [(String, Int, Int, Int)] = [
            ("1", 1, 1, 1), ("prime", 3, 257, 5), ("wide", 2, 1025, 1), ("many rows", 4099, 3, 3),
            ("k = columns", 5, 31, 31), ("empty", 0, 4, 2), ("k = 0", 3, 4, 0),
        ]
        return shapes.flatMap { shapeClass, rows, columns, k in
            [true, false].flatMap { largest in
                ["normal", "awkward"].map { values in
                    ConformanceCase(.topK, "topK \(largest ? "largest" : "smallest")", shapeClass: shapeClass,
                                    shape: "[\(rows), \(columns)] k \(k)", values: values, bound: exactBound,
                                    exactSigns: true) { (h) throws(TensorError) in
                        let x = values == "normal" ? h.values(rows * columns, "normal") : awkward(h, rows * columns)
                        let v = try h.output(rows * k), i = try h.output(rows * k)
                        try h.run(.topK(input: try h.input(x), rows: rows, columns: columns, k: k, largest: largest,
                                        values: v.buffer, indices: i.buffer))
                        // Reference: a stable sort on a key where NaN is above every number.
                        var values: [Double] = [], positions: [Double] = []
                        for r in 0..<rows {
                            let line = (0..<columns).map { Double(x[r * columns + $0]) }
                            func key(_ c: Int) -> (Int, Double) {
                                line[c].isNaN ? (largest ? 0 : 1, 0) : (largest ? 1 : 0, largest ? -line[c] : line[c])
                            }
                            let order = (0..<columns).sorted { key($0) < key($1) || (key($0) == key($1) && $0 < $1) }
                            for c in order.prefix(k) {
                                values.append(line[c])
                                positions.append(Double(c))
                            }
                        }
                        return .init(actual: try h.read(v) + integers(try h.read(i)).map(Float.init),
                                     reference: values + positions)
                    }
                }
            }
        }
    }

    static func dropoutCases() -> [ConformanceCase] {
        let seed: UInt64 = 0x0123_4567_89AB_CDEF
        let sizes: [(String, Int, UInt64)] = [("1", 1, 0), ("prime", 257, 0), ("large", 65_537, 0),
                                              ("offset across 2^32", 257, (1 << 32) - 130)]
        return sizes.flatMap { shapeClass, count, offset in
            [Float(0), 0.1, 0.5, 1].map { p in
                ConformanceCase(.dropout, "dropout p \(p)", shapeClass: shapeClass, shape: "[\(count)] offset \(offset)",
                                values: "normal", bound: exactBound, exactSigns: true) { (h) throws(TensorError) in
                    let x = h.values(count, "normal")
                    let out = try h.output(count)
                    try h.run(.dropout(input: try h.input(x), count: count, probability: p, seed: seed, offset: offset,
                                       output: out.buffer))
                    let scale = Double(1 / (1 - p))
                    let reference = (0..<count).map { i in
                        Philox4x32.dropoutUniform(seed: seed, index: offset + UInt64(i)) < p ? 0 : Double(x[i]) * scale
                    }
                    return .init(actual: try h.read(out), reference: reference)
                }
            }
        }
    }
}
