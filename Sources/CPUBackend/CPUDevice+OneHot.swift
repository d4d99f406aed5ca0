import TensorCore

extension CPUDevice {
    /// float32 one-hot rows of int32 `labels` (the rules of ``BackendOp/oneHot``).
    ///
    /// ```swift
    /// try cpu.oneHot(labels, rows: 32, classes: 10, ignoreIndex: -100, into: targets)
    /// ```
    public func oneHot(_ labels: any BackendBuffer, rows: Int, classes: Int, ignoreIndex: Int32,
                       into output: any BackendBuffer) throws(TensorError) {
        let op = "oneHot"
        let source = try cpuBuffer(labels, op: op), target = try cpuBuffer(output, op: op)
        try require(source, holds: rows, op: op, role: "labels")
        try require(target, holds: rows * classes, op: op, role: "output")
        let indices = UnsafeRawPointer(source.base)
        let out = target.base
        for row in 0..<rows {
            let label = indices.load(fromByteOffset: row * 4, as: Int32.self)
            let line = out + row * classes
            let invalid = label != ignoreIndex && (label < 0 || Int(label) >= classes)
            line.initialize(repeating: invalid ? .nan : 0, count: classes)
            if !invalid, label != ignoreIndex { line[Int(label)] = 1 }
        }
    }
}
