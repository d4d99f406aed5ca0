import TensorCore

/// Conformance of `lerp`, an op with no kernel: its composite against `start + weight * (end -
/// start)` in float64, with row, column, scalar and 3-D broadcasts and strided (transposed)
/// operands, at 1, prime and multi-workgroup sizes.
extension ConformanceTable {
    static func lerpCases() -> [ConformanceCase] {
        // (class, out shape, start strides and count, end strides and count, weight strides and count)
        let shapes: [(String, [Int], [Int], Int, [Int], Int, [Int], Int)] = [
            ("1", [1], [1], 1, [1], 1, [1], 1),
            ("prime", [257], [1], 257, [1], 257, [1], 257),
            ("scalar weight", [65_537], [1], 65_537, [1], 65_537, [0], 1),
            ("row broadcast", [31, 7], [7, 1], 217, [0, 1], 7, [7, 1], 217),
            ("column weight", [7, 31], [31, 1], 217, [31, 1], 217, [1, 0], 7),
            ("transposed end", [7, 31], [31, 1], 217, [1, 7], 217, [0, 0], 1),
            ("3-D", [3, 5, 7], [35, 7, 1], 105, [0, 1, 0], 5, [0, 7, 1], 35),
        ]
        return shapes.flatMap { shapeClass, shape, startStrides, startCount, endStrides, endCount, weightStrides, weightCount in
            ["normal", "large", "zeros"].map { values in
                ConformanceCase(.lerp, "lerp", shapeClass: shapeClass, shape: "\(shape)", values: values,
                                bound: matmulBound) { (h) throws(TensorError) in
                    let start = h.values(startCount, values), end = h.values(endCount, values)
                    let weight = h.values(weightCount, "normal")
                    let layouts = [startStrides, endStrides, weightStrides].map { StridedLayout(shape: shape, strides: $0) }
                    let count = layouts[0].elementCount
                    let out = try h.output(count)
                    try h.run(.lerp(start: try h.input(start), startLayout: layouts[0], end: try h.input(end),
                                    endLayout: layouts[1], weight: try h.input(weight), weightLayout: layouts[2],
                                    output: out.buffer))
                    let a = References.strided(start, layouts[0]), b = References.strided(end, layouts[1])
                    let w = References.strided(weight, layouts[2])
                    return .init(actual: try h.read(out), reference: (0..<count).map { a[$0] + w[$0] * (b[$0] - a[$0]) })
                }
            }
        }
    }
}
