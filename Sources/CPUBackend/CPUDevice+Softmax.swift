import Foundation
import TensorCore

extension CPUDevice {
    /// Row-wise (log-)softmax of `input` viewed as contiguous [rows, columns].
    public func softmax(_ input: any BackendBuffer, rows: Int, columns: Int, logarithm: Bool,
                        into output: any BackendBuffer) throws(TensorError) {
        guard rows >= 0, columns >= 0 else {
            throw .invalidArgument(op: "softmax", reason: "negative extent in [\(rows), \(columns)]")
        }
        try softmax(input, layout: .contiguous([rows, columns]), logarithm: logarithm, into: output)
    }

    /// (Log-)softmax over the last axis of any strided view, read in place; rows split
    /// across threads for large inputs.
    ///
    /// ```swift
    /// // Softmax down the columns of a [4, 3] matrix: its transpose, without a copy.
    /// try cpu.softmax(m, layout: StridedLayout(shape: [3, 4], strides: [1, 3]), logarithm: false, into: t)
    /// ```
    public func softmax(_ input: any BackendBuffer, layout: StridedLayout, logarithm: Bool,
                        into output: any BackendBuffer) throws(TensorError) {
        let op = "softmax"
        let ib = try cpuBuffer(input, op: op), ob = try cpuBuffer(output, op: op)
        try validate(layout, of: ib, op: op)
        try require(ob, holds: layout.elementCount, op: op, role: "output")
        let (rowLayout, columns, stride) = layout.rowsAndColumns
        let rows = rowLayout.elementCount
        guard columns > 0, rows > 0 else { return }
        let rowStarts = rowLayout.coalesced()   // one division per row at most: nothing beside the row's work
        let x = UnsafePointer(ib.base), y = ob.base
        parallelFor(count: rows, threads: threads, grain: max(1, Self.elementwiseGrain / (columns * 8)), alignment: 1) { range in
            for row in range {
                let source = x + Self.stridedOffset(row, rowStarts), destination = y + row * columns
                var maximum = -Float.infinity
                for j in 0..<columns { maximum = max(maximum, source[j * stride]) }
                if maximum == -.infinity { maximum = 0 }
                var total = 0.0
                for j in 0..<columns { total += Double(Foundation.exp(source[j * stride] - maximum)) }
                if logarithm {
                    let shift = maximum + Float(Foundation.log(total))
                    for j in 0..<columns { destination[j] = source[j * stride] - shift }
                } else {
                    let inverse = Float(1 / total)
                    for j in 0..<columns { destination[j] = Foundation.exp(source[j * stride] - maximum) * inverse }
                }
            }
        }
    }
}
