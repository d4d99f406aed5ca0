import TensorCore

extension CPUDevice {
    /// Elements per thread below which an elementwise op stays on the calling thread.
    static let elementwiseGrain = 65536

    /// Sets the first `count` elements of `buffer` to `value`.
    ///
    /// ```swift
    /// try CPUDevice.shared.fill(buffer, value: 0, count: buffer.elementCount)
    /// ```
    public func fill(_ buffer: any BackendBuffer, value: Float, count: Int) throws(TensorError) {
        let target = try cpuBuffer(buffer, op: "fill")
        try require(target, holds: count, op: "fill", role: "buffer")
        let base = target.base
        parallelFor(count: count, threads: threads, grain: Self.elementwiseGrain * 4) { range in
            (base + range.lowerBound).update(repeating: value, count: range.count)
        }
    }

    /// `destination[i] = source[layout(i)]` for every index of `layout.shape`, with a
    /// tiled fast path for 2-D transposes.
    ///
    /// ```swift
    /// // Transpose a row-major [3, 5] matrix into [5, 3].
    /// try cpu.copyStrided(from: m, layout: StridedLayout(shape: [5, 3], strides: [1, 5]), to: t)
    /// ```
    public func copyStrided(from source: any BackendBuffer, layout: StridedLayout,
                            to destination: any BackendBuffer) throws(TensorError) {
        let op = "copyStrided"
        let src = try cpuBuffer(source, op: op), dst = try cpuBuffer(destination, op: op)
        try validate(layout, of: src, op: op)
        let count = layout.elementCount
        try require(dst, holds: count, op: op, role: "destination")
        guard count > 0 else { return }
        let c = layout.coalesced()
        let from = UnsafePointer(src.base + layout.offset), to = dst.base
        if c.shape.count == 2, c.strides[1] != 1 {
            // Tiled transpose, split by rows.
            let rows = c.shape[0], columns = c.shape[1]
            parallelFor(count: rows, threads: threads, grain: max(32, Self.elementwiseGrain / columns),
                        alignment: 32) { range in
                StridedCopy.transpose(source: from + range.lowerBound * c.strides[0], rows: range.count,
                                      columns: columns, rowStride: c.strides[0],
                                      columnStride: c.strides[1], out: to + range.lowerBound * columns)
            }
            return
        }
        parallelFor(count: count, threads: threads, grain: Self.elementwiseGrain) { range in
            StridedCopy.run(source: from, shape: c.shape, strides: c.strides, out: to, range: range)
        }
    }

    /// `out[i] = a[aLayout(i)] op b[bLayout(i)]` with NumPy broadcasting (stride-0 axes).
    ///
    /// ```swift
    /// // [2, 3] + a bias row [3] broadcast over the rows:
    /// try cpu.binary(.add, x, StridedLayout(shape: [2, 3], strides: [3, 1]),
    ///                bias, StridedLayout(shape: [2, 3], strides: [0, 1]), into: y)
    /// ```
    public func binary(_ op: BinaryOp, _ a: any BackendBuffer, _ aLayout: StridedLayout,
                       _ b: any BackendBuffer, _ bLayout: StridedLayout,
                       into out: any BackendBuffer) throws(TensorError) {
        let name = "binary(\(op))"
        let ab = try cpuBuffer(a, op: name), bb = try cpuBuffer(b, op: name), ob = try cpuBuffer(out, op: name)
        guard aLayout.shape == bLayout.shape else {
            throw .shapeMismatch(op: name, lhs: aLayout.shape, rhs: bLayout.shape, reason: "layouts differ in shape")
        }
        try validate(aLayout, of: ab, op: name)
        try validate(bLayout, of: bb, op: name)
        let count = aLayout.elementCount
        try require(ob, holds: count, op: name, role: "output")
        guard count > 0 else { return }
        let merged = StridedLayout.coalesce(shape: aLayout.shape, strideSets: [aLayout.strides, bLayout.strides])
        let pa = UnsafePointer(ab.base + aLayout.offset), pb = UnsafePointer(bb.base + bLayout.offset)
        let po = ob.base
        parallelFor(count: count, threads: threads, grain: Self.elementwiseGrain) { range in
            BinaryKernels.run(op, a: pa, aStrides: merged.strides[0], b: pb, bStrides: merged.strides[1],
                              shape: merged.shape, out: po, range: range)
        }
    }

    /// `out = a * scale + offset` elementwise.
    ///
    /// ```swift
    /// try cpu.scaleShift(x, scale: 2, offset: -1, count: n, into: y)
    /// ```
    public func scaleShift(_ a: any BackendBuffer, scale: Float, offset: Float, count: Int,
                           into out: any BackendBuffer) throws(TensorError) {
        try scaleShift(a, layout: .contiguous([count]), scale: scale, offset: offset, into: out)
    }

    /// `out[i] = a[layout(i)] * scale + offset`: a strided view is gathered chunk by chunk
    /// into the output and transformed there in place.
    ///
    /// ```swift
    /// try cpu.scaleShift(m, layout: StridedLayout(shape: [5, 3], strides: [1, 5]), scale: 2, offset: 1, into: t)
    /// ```
    public func scaleShift(_ a: any BackendBuffer, layout: StridedLayout, scale: Float, offset: Float,
                           into out: any BackendBuffer) throws(TensorError) {
        let ab = try cpuBuffer(a, op: "scaleShift"), ob = try cpuBuffer(out, op: "scaleShift")
        try validate(layout, of: ab, op: "scaleShift")
        let count = layout.elementCount
        try require(ob, holds: count, op: "scaleShift", role: "output")
        guard count > 0 else { return }
        let contiguous = layout.isContiguous
        let c = layout.coalesced(), source = UnsafePointer(ab.base + layout.offset), y = ob.base
        parallelFor(count: count, threads: threads, grain: Self.elementwiseGrain) { range in
            var x = source
            if !contiguous {
                StridedCopy.run(source: source, shape: c.shape, strides: c.strides, out: y, range: range)
                x = UnsafePointer(y)
            }
            for i in range { y[i] = x[i] * scale + offset }
        }
    }

    /// `output[i] = f(input[i])`, vectorised, on both cores for large counts.
    ///
    /// ```swift
    /// try cpu.activate(.gelu, x, count: n, into: y)
    /// ```
    public func activate(_ activation: Activation, _ input: any BackendBuffer, count: Int,
                         into output: any BackendBuffer) throws(TensorError) {
        try activate(activation, input, layout: .contiguous([count]), into: output)
    }

    /// `output[i] = f(input[layout(i)])`: a strided view is gathered chunk by chunk into the
    /// output and transformed there in place, so no full contiguous copy is made first.
    ///
    /// ```swift
    /// try cpu.activate(.relu, m, layout: StridedLayout(shape: [5, 3], strides: [1, 5]), into: t)
    /// ```
    public func activate(_ activation: Activation, _ input: any BackendBuffer, layout: StridedLayout,
                         into output: any BackendBuffer) throws(TensorError) {
        let ib = try cpuBuffer(input, op: "activate"), ob = try cpuBuffer(output, op: "activate")
        try validate(layout, of: ib, op: "activate")
        let count = layout.elementCount
        try require(ob, holds: count, op: "activate", role: "output")
        guard count > 0 else { return }
        let y = ob.base
        if layout.isContiguous {
            let x = UnsafePointer(ib.base + layout.offset)
            parallelFor(count: count, threads: threads, grain: ActivationKernels.grain(activation, backward: false)) { range in
                ActivationKernels.forward(activation, x, y, range: range)
            }
            return
        }
        let c = layout.coalesced(), x = UnsafePointer(ib.base + layout.offset)
        parallelFor(count: count, threads: threads, grain: Self.elementwiseGrain) { range in
            StridedCopy.run(source: x, shape: c.shape, strides: c.strides, out: y, range: range)
            ActivationKernels.forward(activation, UnsafePointer(y), y, range: range)
        }
    }

    /// `gradInput[i] = gradOutput[i] * f'(input[i])` with the exact derivative.
    ///
    /// ```swift
    /// try cpu.activationBackward(.silu, input: x, gradOutput: dy, count: n, into: dx)
    /// ```
    public func activationBackward(_ activation: Activation, input: any BackendBuffer,
                                   gradOutput: any BackendBuffer, count: Int,
                                   into gradInput: any BackendBuffer) throws(TensorError) {
        let op = "activationBackward"
        let ib = try cpuBuffer(input, op: op), gb = try cpuBuffer(gradOutput, op: op)
        let ob = try cpuBuffer(gradInput, op: op)
        try require(ib, holds: count, op: op, role: "input")
        try require(gb, holds: count, op: op, role: "gradOutput")
        try require(ob, holds: count, op: op, role: "gradInput")
        let x = UnsafePointer(ib.base), g = UnsafePointer(gb.base), y = ob.base
        parallelFor(count: count, threads: threads, grain: ActivationKernels.grain(activation, backward: true)) { range in
            ActivationKernels.backward(activation, x, g, y, range: range)
        }
    }

    /// Views `input` as [outer, axis, inner] and writes `scale * sum over axis` as [outer, inner].
    ///
    /// ```swift
    /// // Mean over the rows of a [4, 8] matrix:
    /// try cpu.reduceSum(x, outer: 1, axis: 4, inner: 8, scale: 0.25, into: mean)
    /// ```
    public func reduceSum(_ input: any BackendBuffer, outer: Int, axis: Int, inner: Int, scale: Float,
                          into output: any BackendBuffer) throws(TensorError) {
        guard outer >= 0, axis >= 0, inner >= 0 else {
            throw .invalidArgument(op: "reduceSum", reason: "negative extent in [\(outer), \(axis), \(inner)]")
        }
        try reduceSum(input, layout: .contiguous([outer, axis, inner]), scale: scale, into: output)
    }

    /// `output[o, j] = scale * sum_a input[layout(o, a, j)]` for a rank-3 view [outer, axis,
    /// inner] with any strides, read in place.
    ///
    /// ```swift
    /// // Column sums of a transposed [8, 4] matrix, as [1, 4, 8] with strides [0, 1, 4]:
    /// try cpu.reduceSum(m, layout: StridedLayout(shape: [1, 4, 8], strides: [0, 1, 4]), scale: 1, into: sums)
    /// ```
    public func reduceSum(_ input: any BackendBuffer, layout: StridedLayout, scale: Float,
                          into output: any BackendBuffer) throws(TensorError) {
        let op = "reduceSum"
        let ib = try cpuBuffer(input, op: op), ob = try cpuBuffer(output, op: op)
        guard layout.shape.count == 3 else {
            throw .invalidArgument(op: op, reason: "layout \(layout.shape) is not [outer, axis, inner]")
        }
        try validate(layout, of: ib, op: op)
        let (outer, axis, inner) = (layout.shape[0], layout.shape[1], layout.shape[2])
        try require(ob, holds: outer * inner, op: op, role: "output")
        let x = UnsafePointer(ib.base + layout.offset), y = ob.base
        let strides = (layout.strides[0], layout.strides[1], layout.strides[2])
        let perOuter = max(1, axis * inner)
        parallelFor(count: outer, threads: threads, grain: max(1, Self.elementwiseGrain / perOuter),
                    alignment: 1) { range in
            Reduction.sum(x, axis: axis, inner: inner, strides: strides, scale: scale, out: y, outerRange: range)
        }
    }

    /// Throws unless every index `layout` reaches lies inside `buffer`.
    func validate(_ layout: StridedLayout, of buffer: CPUBuffer, op: String) throws(TensorError) {
        guard layout.shape.count == layout.strides.count, layout.shape.allSatisfy({ $0 >= 0 }) else {
            throw .invalidArgument(op: op, reason: "layout shape \(layout.shape) and strides \(layout.strides) differ in rank")
        }
        guard layout.elementCount > 0 else { return }
        let span = StridedCopy.span(shape: layout.shape, strides: layout.strides, offset: layout.offset)
        guard span.lowerBound >= 0, span.upperBound < buffer.elementCount else {
            throw .invalidArgument(op: op, reason: "layout \(layout.shape) strides \(layout.strides) offset \(layout.offset) reaches outside a buffer of \(buffer.elementCount) elements")
        }
    }
}
