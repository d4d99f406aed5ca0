import TensorCore

extension CPUDevice {
    /// A delta network's input update (the rules of ``BackendOp/deltaUpdate``).
    ///
    /// ```swift
    /// try cpu.deltaUpdate(x, reference: xRef, theta: 0.01, count: k, delta: d, transmitted: count)
    /// ```
    public func deltaUpdate(_ input: any BackendBuffer, reference: any BackendBuffer, theta: Float, count: Int,
                            delta: any BackendBuffer, transmitted: any BackendBuffer) throws(TensorError) {
        let op = "deltaUpdate"
        let xb = try cpuBuffer(input, op: op), rb = try cpuBuffer(reference, op: op)
        let db = try cpuBuffer(delta, op: op), tb = try cpuBuffer(transmitted, op: op)
        try require(xb, holds: count, op: op, role: "input")
        try require(rb, holds: count, op: op, role: "reference")
        try require(db, holds: count, op: op, role: "delta")
        try require(tb, holds: 1, op: op, role: "transmitted")
        let x = UnsafePointer(xb.base), kept = rb.base, changes = db.base
        var sent: Int32 = 0
        for i in 0..<count {
            let d = x[i] - kept[i]
            if !(Swift.abs(d) < theta) {
                changes[i] = d
                kept[i] = x[i]
                sent &+= 1
            } else {
                changes[i] = 0
            }
        }
        let counter = UnsafeMutableRawPointer(tb.base)
        counter.storeBytes(of: counter.load(as: Int32.self) &+ sent, as: Int32.self)
    }
}
