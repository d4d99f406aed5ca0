import TensorCore

/// The selection ops on the CPU: ternary select, the axis extreme with its index, top-k and dropout.
extension CPUDevice {
    /// `output[i] = condition[cl(i)] != 0 ? a[al(i)] : b[bl(i)]` (the rules of ``BackendOp/select(condition:conditionLayout:a:aLayout:b:bLayout:output:)``).
    ///
    /// ```swift
    /// try cpu.select(mask, .contiguous([4]), x, .contiguous([4]), y, .contiguous([4]), into: out)
    /// ```
    public func select(_ condition: any BackendBuffer, _ conditionLayout: StridedLayout, _ a: any BackendBuffer,
                       _ aLayout: StridedLayout, _ b: any BackendBuffer, _ bLayout: StridedLayout,
                       into output: any BackendBuffer) throws(TensorError) {
        let op = "select"
        let cb = try cpuBuffer(condition, op: op), ab = try cpuBuffer(a, op: op), bb = try cpuBuffer(b, op: op)
        let ob = try cpuBuffer(output, op: op)
        guard conditionLayout.shape == aLayout.shape, aLayout.shape == bLayout.shape else {
            throw .shapeMismatch(op: op, lhs: aLayout.shape, rhs: bLayout.shape,
                                 reason: "layouts differ in shape (condition \(conditionLayout.shape))")
        }
        try validate(conditionLayout, of: cb, op: op)
        try validate(aLayout, of: ab, op: op)
        try validate(bLayout, of: bb, op: op)
        let count = aLayout.elementCount
        try require(ob, holds: count, op: op, role: "output")
        guard count > 0 else { return }
        let merged = StridedLayout.coalesce(shape: aLayout.shape,
                                            strideSets: [conditionLayout.strides, aLayout.strides, bLayout.strides])
        let pc = UnsafePointer(cb.base + conditionLayout.offset), pa = UnsafePointer(ab.base + aLayout.offset)
        let pb = UnsafePointer(bb.base + bLayout.offset), po = ob.base
        let shape = merged.shape, strides = merged.strides
        parallelFor(count: count, threads: threads, grain: Self.elementwiseGrain) { range in
            guard !shape.isEmpty else {
                po[0] = pc[0] != 0 ? pa[0] : pb[0]
                return
            }
            let rank = shape.count, n = shape[rank - 1]
            let sc = strides[0][rank - 1], sa = strides[1][rank - 1], sb = strides[2][rank - 1]
            var index = range.lowerBound
            while index < range.upperBound {
                let column = index % n
                let length = Swift.min(n - column, range.upperBound - index)
                var rest = index / n, offC = column * sc, offA = column * sa, offB = column * sb
                var axis = rank - 2
                while axis >= 0 {
                    let i = rest % shape[axis]
                    rest /= shape[axis]
                    offC += i * strides[0][axis]
                    offA += i * strides[1][axis]
                    offB += i * strides[2][axis]
                    axis -= 1
                }
                for t in 0..<length {
                    po[index + t] = pc[offC + t * sc] != 0 ? pa[offA + t * sa] : pb[offB + t * sb]
                }
                index += length
            }
        }
    }

    /// The max or min along the middle axis of [outer, axis, inner] with its int32 index
    /// (the rules of ``BackendOp/reduceIndex(_:input:layout:values:indices:)``).
    ///
    /// ```swift
    /// try cpu.reduceIndex(.max, x, layout: .contiguous([1, 5, 3]), values: v, indices: i)
    /// ```
    public func reduceIndex(_ kind: ReduceIndexOp, _ input: any BackendBuffer, layout: StridedLayout,
                            values: any BackendBuffer, indices: any BackendBuffer) throws(TensorError) {
        let op = "reduceIndex(\(kind))"
        let ib = try cpuBuffer(input, op: op), vb = try cpuBuffer(values, op: op), xb = try cpuBuffer(indices, op: op)
        guard layout.shape.count == 3 else {
            throw .invalidArgument(op: op, reason: "layout \(layout.shape) is not [outer, axis, inner]")
        }
        try validate(layout, of: ib, op: op)
        let (outer, axis, inner) = (layout.shape[0], layout.shape[1], layout.shape[2])
        guard outer * inner > 0 else { return }
        guard axis > 0 else { throw .invalidArgument(op: op, reason: "the reduced axis is empty") }
        try require(vb, holds: outer * inner, op: op, role: "values")
        try require(xb, holds: outer * inner, op: op, role: "indices")
        let x = UnsafePointer(ib.base + layout.offset), v = vb.base
        let positions = UnsafeMutableRawPointer(xb.base).bindMemory(to: Int32.self, capacity: outer * inner)
        let (so, sa, si) = (layout.strides[0], layout.strides[1], layout.strides[2])
        parallelFor(count: outer * inner, threads: threads, grain: Swift.max(1, Self.elementwiseGrain / axis),
                    alignment: 1) { range in
            for r in range {
                let base = x + (r / inner) * so + (r % inner) * si
                var best = base[0], at = 0
                for a in 1..<axis where kind.replaces(best, with: base[a * sa]) {
                    best = base[a * sa]
                    at = a
                }
                v[r] = best
                positions[r] = Int32(at)
            }
        }
    }

    /// The `k` best of each row with their int32 indices, best first (the rules of
    /// ``BackendOp/topK(input:rows:columns:k:largest:values:indices:)``).
    ///
    /// ```swift
    /// try cpu.topK(x, rows: 2, columns: 10, k: 3, largest: true, values: v, indices: i)
    /// ```
    public func topK(_ input: any BackendBuffer, rows: Int, columns: Int, k: Int, largest: Bool,
                     values: any BackendBuffer, indices: any BackendBuffer) throws(TensorError) {
        let op = "topK"
        let ib = try cpuBuffer(input, op: op), vb = try cpuBuffer(values, op: op), xb = try cpuBuffer(indices, op: op)
        guard k >= 0, k <= columns, rows >= 0 else {
            throw .invalidArgument(op: op, reason: "k \(k) outside 0...\(columns) (rows \(rows))")
        }
        try require(ib, holds: rows * columns, op: op, role: "input")
        try require(vb, holds: rows * k, op: op, role: "values")
        try require(xb, holds: rows * k, op: op, role: "indices")
        guard rows * k > 0 else { return }
        let x = UnsafePointer(ib.base), v = vb.base
        let positions = UnsafeMutableRawPointer(xb.base).bindMemory(to: Int32.self, capacity: rows * k)
        parallelFor(count: rows, threads: threads, grain: Swift.max(1, Self.elementwiseGrain / columns), alignment: 1) { range in
            var order = [Int](repeating: 0, count: columns)
            for row in range {
                let line = x + row * columns
                for c in 0..<columns { order[c] = c }
                order.sort { SelectLimits.topKBefore(line[$0], $0, line[$1], $1, largest: largest) }
                for j in 0..<k {
                    v[row * k + j] = line[order[j]]
                    positions[row * k + j] = Int32(order[j])
                }
            }
        }
    }

    /// Inverted dropout with the Philox4x32-10 mask of (seed, offset + i) (the rules of
    /// ``BackendOp/dropout(input:count:probability:seed:offset:output:)``).
    ///
    /// ```swift
    /// try cpu.dropout(x, count: n, probability: 0.1, seed: 7, offset: 0, into: y)
    /// ```
    public func dropout(_ input: any BackendBuffer, count: Int, probability: Float, seed: UInt64, offset: UInt64,
                        into output: any BackendBuffer) throws(TensorError) {
        let op = "dropout"
        let ib = try cpuBuffer(input, op: op), ob = try cpuBuffer(output, op: op)
        guard probability >= 0, probability <= 1 else {
            throw .invalidArgument(op: op, reason: "probability \(probability) outside [0, 1]")
        }
        try require(ib, holds: count, op: op, role: "input")
        try require(ob, holds: count, op: op, role: "output")
        guard count > 0 else { return }
        let scale = 1 / (1 - probability)
        let x = UnsafePointer(ib.base), y = ob.base
        parallelFor(count: count, threads: threads, grain: Self.elementwiseGrain / 4) { range in
            var i = range.lowerBound
            while i < range.upperBound {
                let n = offset &+ UInt64(i)
                let block = Philox4x32.streamBlock(seed: seed, blockIndex: n >> 2)
                var word = Int(n & 3)
                while word < 4, i < range.upperBound {
                    y[i] = Philox4x32.uniform(block[word]) < probability ? 0 : x[i] * scale
                    word += 1
                    i += 1
                }
            }
        }
    }
}
