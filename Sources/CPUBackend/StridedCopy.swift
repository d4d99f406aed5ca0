/// Gathers a strided view of a source into a contiguous destination.
enum StridedCopy {
    /// `out[i] = source[offset + layout(i)]` for `i` in `range`; `shape`/`strides` coalesced.
    static func run(source: UnsafePointer<Float>, shape: [Int], strides: [Int],
                    out: UnsafeMutablePointer<Float>, range: Range<Int>) {
        guard !shape.isEmpty else {
            if !range.isEmpty { out[0] = source[0] }
            return
        }
        let rank = shape.count
        if rank == 2 && strides[1] != 1 && range == 0..<(shape[0] * shape[1]) {
            transpose(source: source, rows: shape[0], columns: shape[1],
                      rowStride: strides[0], columnStride: strides[1], out: out)
            return
        }
        let n = shape[rank - 1]
        let s = strides[rank - 1]
        var index = range.lowerBound
        while index < range.upperBound {
            let row = index / n
            let column = index % n
            let length = min(n - column, range.upperBound - index)
            var rest = row, offset = 0
            var axis = rank - 2
            while axis >= 0 {
                offset += (rest % shape[axis]) * strides[axis]
                rest /= shape[axis]
                axis -= 1
            }
            let from = source + offset + column * s
            let to = out + index
            if s == 1 {
                to.update(from: from, count: length)
            } else if s == 0 {
                to.update(repeating: from[0], count: length)
            } else {
                for i in 0..<length { to[i] = from[i * s] }
            }
            index += length
        }
    }

    /// out[r, c] = source[r * rowStride + c * columnStride], in cache-sized tiles.
    static func transpose(source: UnsafePointer<Float>, rows: Int, columns: Int,
                          rowStride: Int, columnStride: Int, out: UnsafeMutablePointer<Float>) {
        let tile = 32
        var r0 = 0
        while r0 < rows {
            let r1 = min(rows, r0 + tile)
            var c0 = 0
            while c0 < columns {
                let c1 = min(columns, c0 + tile)
                for r in r0..<r1 {
                    let from = source + r * rowStride
                    let to = out + r * columns
                    for c in c0..<c1 { to[c] = from[c * columnStride] }
                }
                c0 = c1
            }
            r0 = r1
        }
    }

    /// The lowest and highest source index the layout touches (offset included).
    static func span(shape: [Int], strides: [Int], offset: Int) -> ClosedRange<Int> {
        var low = offset, high = offset
        for (extent, stride) in zip(shape, strides) where extent > 0 {
            let reach = (extent - 1) * stride
            if reach < 0 { low += reach } else { high += reach }
        }
        return low...high
    }
}
