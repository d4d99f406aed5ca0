import TensorCore

/// Conformance of `copyInto`: a bit copy, so results must match exactly. Random bits (NaN
/// and subnormal patterns included) of each element size (4, 2 and 1 bytes) are copied from
/// contiguous, transposed, broadcast and offset sources into slabs, strided and transposed
/// regions of a poisoned destination; every element the destination layout does not reach
/// must keep its poison, and the guard words after it must survive (sub-word elements share
/// words with their neighbours).
extension ConformanceTable {
    static func copyIntoCases() -> [ConformanceCase] {
        // (class, source element count, source layout, destination element count, destination layout)
        let layouts: [(String, Int, StridedLayout, Int, StridedLayout)] = [
            ("1", 3, StridedLayout(shape: [1], strides: [1], offset: 2), 5, StridedLayout(shape: [1], strides: [1], offset: 3)),
            ("prime", 257, .contiguous([257]), 777, StridedLayout(shape: [257], strides: [3], offset: 1)),
            ("slab", 13 * 7, .contiguous([13, 7]), 13 * 19, StridedLayout(shape: [13, 7], strides: [19, 1], offset: 5)),
            // Rows 2 apart: 1-byte rows of a dispatch share 32-bit words.
            ("narrow rows", 29 * 3, .contiguous([29, 3]), 29 * 5 + 2, StridedLayout(shape: [29, 3], strides: [5, 1], offset: 2)),
            ("several workgroups", 67 * 131, .contiguous([67, 131]), 67 * 200,
             StridedLayout(shape: [67, 131], strides: [200, 1], offset: 31)),
            ("transposed", 7 * 31, StridedLayout(shape: [31, 7], strides: [1, 31]), 31 * 9,
             StridedLayout(shape: [31, 7], strides: [9, 1], offset: 1)),
            ("broadcast", 7, StridedLayout(shape: [13, 7], strides: [0, 1]), 13 * 7, .contiguous([13, 7])),
            ("offset", 100, StridedLayout(shape: [3, 4], strides: [20, 2], offset: 17), 40,
             StridedLayout(shape: [3, 4], strides: [1, 5], offset: 3)),
            ("empty", 4, StridedLayout(shape: [0, 4], strides: [4, 1]), 3, StridedLayout(shape: [0, 4], strides: [1, 1])),
        ]
        var cases: [ConformanceCase] = []
        for dtype in [DType.float32, .float16, .uint8] {
            for (name, sourceCount, sourceLayout, destinationCount, destinationLayout) in layouts {
                cases.append(copyIntoCase(dtype, name, sourceCount, sourceLayout, destinationCount, destinationLayout))
            }
        }
        return cases
    }

    static func copyIntoCase(_ dtype: DType, _ name: String, _ sourceCount: Int, _ sourceLayout: StridedLayout,
                             _ destinationCount: Int, _ destinationLayout: StridedLayout) -> ConformanceCase {
        ConformanceCase(.copyInto, "copyInto \(dtype)", shapeClass: name,
                        shape: "\(sourceLayout.shape) into strides \(destinationLayout.strides)", values: "bits",
                        bound: exactBound) { (h) throws(TensorError) in
            let size = dtype.byteSize
            let sourceBytes = (0..<sourceCount * size).map { _ in UInt8(truncatingIfNeeded: h.rng.next()) }
            let input = try h.inputBytes(sourceBytes)
            let output = try h.outputBytes(destinationCount * size)
            try h.run(.copyInto(source: input, sourceLayout: sourceLayout, destination: output.buffer,
                                destinationLayout: destinationLayout, dtype: dtype))
            let written = try h.readBytes(output, byteCount: destinationCount * size)
            // The poisoned destination, with each reached element replaced by its source element.
            var expected = Array(rawBytes([Float](repeating: Harness.poison, count: (destinationCount * size + 3) / 4))
                .prefix(destinationCount * size))
            for i in 0..<sourceLayout.elementCount {
                let from = References.stridedOffset(i, sourceLayout), to = References.stridedOffset(i, destinationLayout)
                expected.replaceSubrange(to * size..<(to + 1) * size, with: sourceBytes[from * size..<(from + 1) * size])
            }
            let actual = unsignedElements(written, size: size), reference = unsignedElements(expected, size: size)
            return .init(actual: exactly(actual, reference), reference: reference)
        }
    }

    /// Each `size`-byte little-endian element of `bytes` as an unsigned integer (exact in a Double).
    static func unsignedElements(_ bytes: [UInt8], size: Int) -> [Double] {
        stride(from: 0, to: bytes.count, by: size).map { start in
            Double((0..<size).reduce(UInt64(0)) { $0 | UInt64(bytes[start + $1]) << (8 * $1) })
        }
    }
}
