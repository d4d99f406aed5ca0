/// Sums over the middle axis of an [outer, axis, inner] view, accumulating in Double.
///
/// Double accumulators keep the result within about one float rounding of the exact sum
/// however long the axis is; the loops vectorise (float loads widened to double lanes).
enum Reduction {
    /// `out[o * inner + j] = scale * sum_a input[(o * axis + a) * inner + j]`
    /// for `o` in `outerRange` and every `j`.
    static func sum(_ input: UnsafePointer<Float>, axis: Int, inner: Int, scale: Float,
                    out: UnsafeMutablePointer<Float>, outerRange: Range<Int>) {
        if inner == 1 {
            for o in outerRange {
                out[o] = Float(Double(scale) * sumContiguous(input + o * axis, count: axis))
            }
            return
        }
        let total = UnsafeMutablePointer<Double>.allocate(capacity: inner)
        defer { total.deallocate() }
        for o in outerRange {
            let base = input + o * axis * inner
            total.update(repeating: 0, count: inner)
            for a in 0..<axis {
                let row = base + a * inner
                for j in 0..<inner { total[j] += Double(row[j]) }
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
