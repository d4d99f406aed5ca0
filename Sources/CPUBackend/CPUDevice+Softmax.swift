import Foundation
import TensorCore

extension CPUDevice {
    /// Row-wise (log-)softmax; rows split across threads for large inputs.
    public func softmax(_ input: any BackendBuffer, rows: Int, columns: Int, logarithm: Bool,
                        into output: any BackendBuffer) throws(TensorError) {
        let op = "softmax"
        let ib = try cpuBuffer(input, op: op), ob = try cpuBuffer(output, op: op)
        guard rows >= 0, columns >= 0 else {
            throw .invalidArgument(op: op, reason: "negative extent in [\(rows), \(columns)]")
        }
        try require(ib, holds: rows * columns, op: op, role: "input")
        try require(ob, holds: rows * columns, op: op, role: "output")
        guard columns > 0 else { return }
        let x = UnsafePointer(ib.base), y = ob.base
        parallelFor(count: rows, threads: threads, grain: max(1, Self.elementwiseGrain / (columns * 8)), alignment: 1) { range in
            for row in range {
                let source = x + row * columns, destination = y + row * columns
                var maximum = -Float.infinity
                for j in 0..<columns { maximum = max(maximum, source[j]) }
                if maximum == -.infinity { maximum = 0 }
                var total = 0.0
                for j in 0..<columns { total += Double(Foundation.exp(source[j] - maximum)) }
                if logarithm {
                    let shift = maximum + Float(Foundation.log(total))
                    for j in 0..<columns { destination[j] = source[j] - shift }
                } else {
                    let inverse = Float(1 / total)
                    for j in 0..<columns { destination[j] = Foundation.exp(source[j] - maximum) * inverse }
                }
            }
        }
    }
}
