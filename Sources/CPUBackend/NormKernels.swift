/// The row kernels of LayerNorm and RMSNorm (``BackendOp/layerNorm(input:weight:bias:rows:columns:epsilon:output:mean:rstd:types:)``
/// and the rest), 16 lanes at a time with a scalar tail. `centered` selects LayerNorm
/// (subtract the mean) over RMSNorm.
///
/// Statistics are a corrected two-pass: a first sum gives a rough mean m0, then the sums of
/// d = x - m0 and d^2 give mean = m0 + sum(d)/n and var = sum(d^2)/n - (sum(d)/n)^2. x - m0
/// is exact when x is near m0 (Sterbenz), so a row of 1e4 + noise loses nothing to the
/// large mean, and y is computed as (x - m0 - sum(d)/n) * rstd so the mean's own rounding
/// to float does not shift it either.
enum NormKernels {
    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> V {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }

    @inline(__always) static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }

    /// The row's (mean, rstd, shift): shift is the exact offset to subtract from x (m0 plus a
    /// correction kept apart, `x - shift.0 - shift.1`); for RMSNorm mean and shift are 0.
    @inline(__always)
    static func statistics(_ x: UnsafePointer<Float>, _ n: Int, centered: Bool,
                           epsilon: Float) -> (mean: Float, rstd: Float, m0: Float, correction: Float) {
        let vectorEnd = n & ~15
        let count = Float(n)
        var m0: Float = 0
        if centered {
            var acc = V()
            var j = 0
            while j < vectorEnd { acc += load(x + j); j += 16 }
            var total = acc.sum()
            while j < n { total += x[j]; j += 1 }
            m0 = total / count
        }
        var s1 = V(), s2 = V()
        let shift = V(repeating: m0)
        var j = 0
        while j < vectorEnd {
            let d = load(x + j) - shift
            s1 += d
            s2 += d * d
            j += 16
        }
        var t1 = s1.sum(), t2 = s2.sum()
        while j < n {
            let d = x[j] - m0
            t1 += d
            t2 += d * d
            j += 1
        }
        let correction = centered ? t1 / count : 0
        let variance = Swift.max(t2 / count - correction * correction, 0)
        let rstd = 1 / (variance + epsilon).squareRoot()
        return (m0 + correction, rstd, m0, correction)
    }

    /// One row forward: y = (x - mean) * rstd * w + b; returns (mean, rstd).
    @inline(__always)
    static func forwardRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int,
                           weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?, centered: Bool,
                           epsilon: Float) -> (Float, Float) {
        let s = statistics(x, n, centered: centered, epsilon: epsilon)
        let vectorEnd = n & ~15
        let m0 = V(repeating: s.m0), c = V(repeating: s.correction), r = V(repeating: s.rstd)
        var j = 0
        while j < vectorEnd {
            var v = ((load(x + j) - m0) - c) * r
            if let weight { v *= load(weight + j) }
            if let bias { v += load(bias + j) }
            store(v, y + j)
            j += 16
        }
        while j < n {
            var v = ((x[j] - s.m0) - s.correction) * s.rstd
            if let weight { v *= weight[j] }
            if let bias { v += bias[j] }
            y[j] = v
            j += 1
        }
        return (s.mean, s.rstd)
    }

    /// One row backward. `gradWeight`/`gradBias`, when given, are this block's column
    /// partial sums: += gradOutput * xh and += gradOutput.
    ///
    /// The stored mean is rounded to float, which shifts every xh of a large-mean row by the
    /// same c; a third sum (of xh) measures c and takes it out, so gradInput and the partials
    /// use the centred xh.
    @inline(__always)
    static func backwardRow(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                            _ n: Int, weight: UnsafePointer<Float>?, mean: Float, rstd: Float, centered: Bool,
                            gradWeight: UnsafeMutablePointer<Float>?, gradBias: UnsafeMutablePointer<Float>?) {
        let vectorEnd = n & ~15
        let count = Float(n)
        let m = V(repeating: mean), r = V(repeating: rstd)
        var a1 = V(), a2 = V(), a3 = V()
        var j = 0
        while j < vectorEnd {
            let xh = (load(x + j) - m) * r
            var g = load(dy + j)
            if let weight { g *= load(weight + j) }
            a1 += g
            a2 += g * xh
            a3 += xh
            j += 16
        }
        var t1 = a1.sum(), t2 = a2.sum(), t3 = a3.sum()
        while j < n {
            let xh = (x[j] - mean) * rstd
            var g = dy[j]
            if let weight { g *= weight[j] }
            t1 += g
            t2 += g * xh
            t3 += xh
            j += 1
        }
        // Centred: xh = xh' - c with c = mean(xh'); mean(g * xh) = mean(g * xh') - c * mean(g).
        let c = centered ? t3 / count : 0
        let meanG = centered ? t1 / count : 0
        let meanGX = t2 / count - c * (t1 / count)
        let cv = V(repeating: c), mg = V(repeating: meanG), mgx = V(repeating: meanGX)
        j = 0
        while j < vectorEnd {
            let xh = (load(x + j) - m) * r - cv
            let d = load(dy + j)
            var g = d
            if let weight { g *= load(weight + j) }
            store(r * (g - mg - xh * mgx), dx + j)
            if let gradWeight { store(load(gradWeight + j) + d * xh, gradWeight + j) }
            if let gradBias { store(load(gradBias + j) + d, gradBias + j) }
            j += 16
        }
        while j < n {
            let xh = (x[j] - mean) * rstd - c
            let d = dy[j]
            var g = d
            if let weight { g *= weight[j] }
            dx[j] = rstd * (g - meanG - xh * meanGX)
            if let gradWeight { gradWeight[j] += d * xh }
            if let gradBias { gradBias[j] += d }
            j += 1
        }
    }

    /// One row backward from the forward's output y (memory-sharing normalisation):
    /// xh = (y - bias) / weight, 0 where weight is 0, then the same formulas as
    /// ``backwardRow(_:_:_:_:weight:mean:rstd:centered:gradWeight:gradBias:)`` without the
    /// mean-rounding shift (xh comes from y, not from a rounded mean).
    @inline(__always)
    static func backwardRowFromOutput(_ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                                      _ n: Int, weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?, rstd: Float,
                                      centered: Bool, gradWeight: UnsafeMutablePointer<Float>?,
                                      gradBias: UnsafeMutablePointer<Float>?) {
        @inline(__always) func normalized(_ j: Int) -> Float {
            var v = y[j]
            if let bias { v -= bias[j] }
            guard let weight else { return v }
            return weight[j] != 0 ? v / weight[j] : 0
        }
        @inline(__always) func normalizedVector(_ j: Int) -> V {
            var v = load(y + j)
            if let bias { v -= load(bias + j) }
            guard let weight else { return v }
            let w = load(weight + j)
            return (v / w).replacing(with: 0, where: w .== 0)
        }
        let vectorEnd = n & ~15
        let count = Float(n)
        var a1 = V(), a2 = V()
        var j = 0
        while j < vectorEnd {
            var g = load(dy + j)
            if let weight { g *= load(weight + j) }
            a1 += g
            a2 += g * normalizedVector(j)
            j += 16
        }
        var t1 = a1.sum(), t2 = a2.sum()
        while j < n {
            var g = dy[j]
            if let weight { g *= weight[j] }
            t1 += g
            t2 += g * normalized(j)
            j += 1
        }
        let meanG = centered ? t1 / count : 0
        let meanGX = t2 / count
        let r = V(repeating: rstd), mg = V(repeating: meanG), mgx = V(repeating: meanGX)
        j = 0
        while j < vectorEnd {
            let xh = normalizedVector(j)
            let d = load(dy + j)
            var g = d
            if let weight { g *= load(weight + j) }
            store(r * (g - mg - xh * mgx), dx + j)
            if let gradWeight { store(load(gradWeight + j) + d * xh, gradWeight + j) }
            if let gradBias { store(load(gradBias + j) + d, gradBias + j) }
            j += 16
        }
        while j < n {
            let xh = normalized(j)
            let d = dy[j]
            var g = d
            if let weight { g *= weight[j] }
            dx[j] = rstd * (g - meanG - xh * meanGX)
            if let gradWeight { gradWeight[j] += d * xh }
            if let gradBias { gradBias[j] += d }
            j += 1
        }
    }
}
