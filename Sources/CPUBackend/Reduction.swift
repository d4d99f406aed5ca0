/// Sums over the middle axis of an [outer, axis, inner] view, accumulating in Double.
///
/// Double accumulators keep the result within about one float rounding of the exact sum
/// however long the axis is; the loops vectorise (float loads widened to double lanes).
enum Reduction {
    /// `out[o * inner + j] = scale * sum_a input[o * strides.0 + a * strides.1 + j * strides.2]`
    /// for `o` in `outerRange` and every `j` (contiguous: strides (axis * inner, inner, 1)).
    static func sum(_ input: UnsafePointer<Float>, axis: Int, inner: Int, strides: (Int, Int, Int), scale: Float,
                    out: UnsafeMutablePointer<Float>, outerRange: Range<Int>) {
        let (outerStride, axisStride, innerStride) = strides
        if inner == 1 {
            for o in outerRange {
                let row = input + o * outerStride
                var total = 0.0
                if axisStride == 1 {
                    total = sumContiguous(row, count: axis)
                } else {
                    for a in 0..<axis { total += Double(row[a * axisStride]) }
                }
                out[o] = Float(Double(scale) * total)
            }
            return
        }
        let total = UnsafeMutablePointer<Double>.allocate(capacity: inner)
        defer { total.deallocate() }
        for o in outerRange {
            let base = input + o * outerStride
            total.update(repeating: 0, count: inner)
            for a in 0..<axis {
                let row = base + a * axisStride
                if innerStride == 1 {
                    for j in 0..<inner { total[j] += Double(row[j]) }
                } else {
                    for j in 0..<inner { total[j] += Double(row[j * innerStride]) }
                }
            }
            let to = out + o * inner
            for j in 0..<inner { to[j] = Float(Double(scale) * total[j]) }
        }
    }

    /// Sum of `count` contiguous floats in eight double lanes.
    static func sumContiguous(_ x: UnsafePointer<Float>, count: Int) -> Double {
        var acc = SIMD8<Double>()
        var i = 0
        while i + 8 <= count {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            acc += SIMD8<Double>(v)
            i += 8
        }
        var total = acc.sum()
        while i < count {
            total += Double(x[i])
            i += 1
        }
        return total
    }
}
