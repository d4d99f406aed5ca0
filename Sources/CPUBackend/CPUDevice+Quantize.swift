import CPUKernels
import TensorCore

extension CPUDevice {
    /// Mesa's 8-bit group quantisation of contiguous `input` [rows, columns] (the rules of
    /// ``GroupQuantization``), rows split across threads.
    ///
    /// ```swift
    /// let layout = GroupQuantization(rows: 512, columns: 384, groupSize: 64)
    /// try cpu.groupQuantize(x, layout: layout, codes: codes, scales: scales)
    /// ```
    public func groupQuantize(_ input: any BackendBuffer, layout: GroupQuantization, codes: any BackendBuffer,
                              scales: any BackendBuffer) throws(TensorError) {
        let op = "groupQuantize"
        try layout.validate(op: op)
        let ib = try cpuBuffer(input, op: op), cb = try cpuBuffer(codes, op: op), sb = try cpuBuffer(scales, op: op)
        try require(ib, holds: layout.count, op: op, role: "input")
        try require(cb, holds: layout.codeWordCount, op: op, role: "codes")
        try require(sb, holds: layout.scaleCount, op: op, role: "scales")
        let bytes = UnsafeMutableRawPointer(cb.base).assumingMemoryBound(to: Int8.self)
        // The last word's padding bytes, so every word of the codes is written.
        for i in layout.count..<(layout.codeWordCount * 4) { bytes[i] = 0 }
        guard layout.count > 0 else { return }
        let x = UnsafePointer(ib.base), s = sb.base
        let (columns, groupSize, groups) = (layout.columns, layout.groupSize, layout.groupsPerRow)
        parallelFor(count: layout.rows, threads: threads, grain: max(1, Self.elementwiseGrain / columns), alignment: 1) { range in
            for row in range {
                te_group_quantize_row(CPUISA.active.rawValue, x + row * columns, columns, groupSize,
                                      GroupQuantization.scaleFactor, bytes + row * columns, s + row * groups)
            }
        }
    }

    /// The inverse of ``groupQuantize(_:layout:codes:scales:)``: `output = code * scale`.
    ///
    /// ```swift
    /// try cpu.groupDequantize(codes: codes, scales: scales, layout: layout, into: x)
    /// ```
    public func groupDequantize(codes: any BackendBuffer, scales: any BackendBuffer, layout: GroupQuantization,
                                into output: any BackendBuffer) throws(TensorError) {
        let op = "groupDequantize"
        try layout.validate(op: op)
        let cb = try cpuBuffer(codes, op: op), sb = try cpuBuffer(scales, op: op), ob = try cpuBuffer(output, op: op)
        try require(cb, holds: layout.codeWordCount, op: op, role: "codes")
        try require(sb, holds: layout.scaleCount, op: op, role: "scales")
        try require(ob, holds: layout.count, op: op, role: "output")
        guard layout.count > 0 else { return }
        let bytes = UnsafeRawPointer(cb.base).assumingMemoryBound(to: Int8.self)
        let s = UnsafePointer(sb.base), y = ob.base
        let (columns, groupSize, groups) = (layout.columns, layout.groupSize, layout.groupsPerRow)
        parallelFor(count: layout.rows, threads: threads, grain: max(1, Self.elementwiseGrain / columns), alignment: 1) { range in
            for row in range {
                for group in 0..<groups {
                    let first = row * columns + group * groupSize
                    Self.dequantizeGroup(bytes + first, min(groupSize, columns - group * groupSize),
                                         scale: s[row * groups + group], into: y + first)
                }
            }
        }
    }

    /// One group: `code * scale`, 16 lanes at a time with a scalar tail.
    @inline(__always)
    static func dequantizeGroup(_ codes: UnsafePointer<Int8>, _ length: Int, scale: Float,
                                into y: UnsafeMutablePointer<Float>) {
        let vectorEnd = length & ~15
        let scales = V(repeating: scale)
        var j = 0
        while j < vectorEnd {
            let packed = UnsafeRawPointer(codes + j).loadUnaligned(as: SIMD16<Int8>.self)
            NormKernels.store(V(SIMD16<Int32>(truncatingIfNeeded: packed)) * scales, y + j)
            j += 16
        }
        while j < length {
            y[j] = Float(codes[j]) * scale
            j += 1
        }
    }
}
