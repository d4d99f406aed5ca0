import Foundation
import TensorCore

extension CPUDevice {
    /// exp, log, sqrt or abs elementwise, split across threads for large inputs.
    public func unary(_ op: UnaryOp, _ a: any BackendBuffer, count: Int, into out: any BackendBuffer) throws(TensorError) {
        let name = "unary \(op)"
        let ab = try cpuBuffer(a, op: name), ob = try cpuBuffer(out, op: name)
        try require(ab, holds: count, op: name, role: "input")
        try require(ob, holds: count, op: name, role: "output")
        let x = UnsafePointer(ab.base), y = ob.base
        parallelFor(count: count, threads: threads, grain: Self.elementwiseGrain, alignment: 16) { range in
            switch op {
            case .exp: for i in range { y[i] = Foundation.exp(x[i]) }
            case .log: for i in range { y[i] = Foundation.log(x[i]) }
            case .sqrt: for i in range { y[i] = x[i].squareRoot() }
            case .abs: for i in range { y[i] = Swift.abs(x[i]) }
            }
        }
    }
}
