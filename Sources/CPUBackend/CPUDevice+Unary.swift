import Foundation
import TensorCore

extension CPUDevice {
    /// exp, log, sqrt or abs elementwise, split across threads for large inputs.
    public func unary(_ op: UnaryOp, _ a: any BackendBuffer, count: Int, into out: any BackendBuffer) throws(TensorError) {
        try unary(op, a, layout: .contiguous([count]), into: out)
    }

    /// `out[i] = op(a[layout(i)])`: a strided view is gathered chunk by chunk into the output
    /// and transformed there in place, so no full contiguous copy is made first.
    ///
    /// ```swift
    /// try cpu.unary(.exp, m, layout: StridedLayout(shape: [5, 3], strides: [1, 5]), into: t)
    /// ```
    public func unary(_ op: UnaryOp, _ a: any BackendBuffer, layout: StridedLayout,
                      into out: any BackendBuffer) throws(TensorError) {
        let name = "unary \(op)"
        let ab = try cpuBuffer(a, op: name), ob = try cpuBuffer(out, op: name)
        try validate(layout, of: ab, op: name)
        let count = layout.elementCount
        try require(ob, holds: count, op: name, role: "output")
        guard count > 0 else { return }
        let contiguous = layout.isContiguous
        let c = layout.coalesced(), source = UnsafePointer(ab.base + layout.offset), y = ob.base
        parallelFor(count: count, threads: threads, grain: Self.elementwiseGrain, alignment: 16) { range in
            var x = source
            if !contiguous {
                StridedCopy.run(source: source, shape: c.shape, strides: c.strides, out: y, range: range)
                x = UnsafePointer(y)
            }
            switch op {
            case .exp: for i in range { y[i] = Foundation.exp(x[i]) }
            case .log: for i in range { y[i] = Foundation.log(x[i]) }
            case .sqrt: for i in range { y[i] = x[i].squareRoot() }
            case .abs: for i in range { y[i] = Swift.abs(x[i]) }
            }
        }
    }
}
