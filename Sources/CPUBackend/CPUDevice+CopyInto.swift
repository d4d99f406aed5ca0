import TensorCore

extension CPUDevice {
    /// `destination[destinationLayout(i)] = source[sourceLayout(i)]` for every index of the
    /// layouts' shape, in elements of `dtype` (the rules of ``BackendOp/copyInto(source:sourceLayout:destination:destinationLayout:dtype:)``);
    /// the rest of `destination` is left as it was.
    ///
    /// ```swift
    /// // Row 1 of a [3, 4] destination from a contiguous [4] source.
    /// try cpu.copyInto(x, layout: .contiguous([4]), to: y,
    ///                  layout: StridedLayout(shape: [4], strides: [1], offset: 4), dtype: .float32)
    /// ```
    public func copyInto(_ source: any BackendBuffer, layout sourceLayout: StridedLayout,
                         to destination: any BackendBuffer, layout destinationLayout: StridedLayout,
                         dtype: DType) throws(TensorError) {
        let op = "copyInto"
        let src = try cpuBuffer(source, op: op), dst = try cpuBuffer(destination, op: op)
        try CopyIntoLayout.validate(source: sourceLayout, sourceBytes: src.byteCount, destination: destinationLayout,
                                    destinationBytes: dst.byteCount, dtype: dtype)
        guard sourceLayout.elementCount > 0 else { return }
        let from = UnsafeRawPointer(src.base), to = UnsafeMutableRawPointer(dst.base)
        switch dtype.byteSize {
        case 1: copyInto(UInt8.self, from, sourceLayout, to, destinationLayout)
        case 2: copyInto(UInt16.self, from, sourceLayout, to, destinationLayout)
        default: copyInto(UInt32.self, from, sourceLayout, to, destinationLayout)
        }
    }

    /// `destination[r, c] = source[r, c]` (strides in elements of `T`) for rows `rows` and
    /// all columns, in `tile` x `tile` blocks.
    private static func copyTiles<T>(_ type: T.Type, _ source: UnsafeRawPointer, _ sourceStrides: (Int, Int),
                                     _ destination: UnsafeMutableRawPointer, _ destinationStrides: (Int, Int),
                                     rows: Range<Int>, columns: Int, tile: Int) {
        let size = MemoryLayout<T>.size
        for r0 in stride(from: rows.lowerBound, to: rows.upperBound, by: tile) {
            let r1 = min(rows.upperBound, r0 + tile)
            for c0 in stride(from: 0, to: columns, by: tile) {
                for r in r0..<r1 {
                    let input = source + r * sourceStrides.0 * size, output = destination + r * destinationStrides.0 * size
                    for c in c0..<min(columns, c0 + tile) {
                        output.storeBytes(of: input.load(fromByteOffset: c * sourceStrides.1 * size, as: T.self),
                                          toByteOffset: c * destinationStrides.1 * size, as: T.self)
                    }
                }
            }
        }
    }

    /// The copy in elements of `T`, by rows of the merged innermost axis, rows split across threads.
    private func copyInto<T>(_ type: T.Type, _ from: UnsafeRawPointer, _ sourceLayout: StridedLayout,
                             _ to: UnsafeMutableRawPointer, _ destinationLayout: StridedLayout) {
        let m = CopyIntoLayout.merged(source: sourceLayout, destination: destinationLayout)
        let size = MemoryLayout<T>.size
        let source = from + sourceLayout.offset * size, destination = to + destinationLayout.offset * size
        guard let columns = m.shape.last else {
            destination.storeBytes(of: source.load(as: T.self), as: T.self)
            return
        }
        let rank = m.shape.count
        let sourceStride = m.sourceStrides[rank - 1], destinationStride = m.destinationStrides[rank - 1]
        if rank == 2, sourceStride != 1 || destinationStride != 1 {
            // A transposed side: tiles, so that both sides stay in cache.
            let rows = m.shape[0], tile = 32
            parallelFor(count: rows, threads: threads, grain: max(tile, Self.elementwiseGrain / columns),
                        alignment: tile) { range in
                Self.copyTiles(T.self, source, (m.sourceStrides[0], sourceStride), destination,
                               (m.destinationStrides[0], destinationStride), rows: range, columns: columns, tile: tile)
            }
            return
        }
        let rows = ShapeMath.elementCount(m.shape) / columns
        parallelFor(count: rows, threads: threads, grain: max(1, Self.elementwiseGrain / columns), alignment: 1) { range in
            for row in range {
                var rest = row, s = 0, d = 0
                for axis in stride(from: rank - 2, through: 0, by: -1) {
                    let coordinate = rest % m.shape[axis]
                    rest /= m.shape[axis]
                    s += coordinate * m.sourceStrides[axis]
                    d += coordinate * m.destinationStrides[axis]
                }
                let input = source + s * size, output = destination + d * size
                if sourceStride == 1 && destinationStride == 1 {
                    output.copyMemory(from: input, byteCount: columns * size)
                } else {
                    for c in 0..<columns {
                        output.storeBytes(of: input.load(fromByteOffset: c * sourceStride * size, as: T.self),
                                          toByteOffset: c * destinationStride * size, as: T.self)
                    }
                }
            }
        }
    }
}
