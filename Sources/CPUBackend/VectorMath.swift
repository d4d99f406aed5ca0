/// Float32 elementary functions on 16 lanes, accurate to a few units of roundoff.
///
/// Written for the x86-64 baseline (SSE2) that Swift packages compile for: no FMA and no
/// hardware rounding instructions, so rounding to an integer uses the 1.5 * 2^23 shifter
/// and 2^n is built from exponent bits. Each result that can reach the subnormal range is
/// returned as `mantissa * scale` so callers multiply their own factors in before the last,
/// single rounding.
typealias V = SIMD16<Float>
typealias VI = SIMD16<Int32>

enum VectorMath {
    static let log2e: Float = 1.442_695_04
    /// ln 2 split so that n * ln2Hi is exact for |n| < 2^15.
    static let ln2Hi: Float = 0.693_359_375
    static let ln2Lo: Float = -2.121_944_4e-4
    static let shifter: Float = 12_582_912          // 1.5 * 2^23
    static let shifterBits: Int32 = 0x4B40_0000

    @inline(__always) static func bits(_ v: V) -> VI { unsafeBitCast(v, to: VI.self) }
    @inline(__always) static func float(_ v: VI) -> V { unsafeBitCast(v, to: V.self) }

    /// 2^n for integer lanes n in [-126, 127].
    @inline(__always) static func pow2(_ n: VI) -> V { float((n &+ 127) &<< 23) }

    /// exp(hi + lo) as `(mantissa, scale)`, with exp = mantissa * scale (scale last).
    ///
    /// `lo` is a small correction to `hi` (or hi + lo is near 0). Arguments must stay below
    /// 88 (every caller's are: they are <= 20); below -120 the result is exactly 0 (e^-120 =
    /// 2^-173, 0 even times the factors, up to 6e3, that keep GELU_tanh' and Mish' above
    /// float32's underflow past e^-104); NaN propagates.
    @inline(__always)
    static func expSplit(_ hi: V, _ lo: V = V()) -> (V, V) {
        let x = hi + lo
        let shifted = x.replacing(with: -120, where: x .< -120) * log2e + shifter
        let nf = shifted - shifter
        let n = bits(shifted) &- shifterBits
        // r = hi + lo - n ln2, with the exact product n * ln2Hi first. Lanes below -120
        // compute garbage here and are replaced by 0 at the end (a select, not a product).
        let r = ((hi - nf * ln2Hi) - nf * ln2Lo) + lo
        let p = expPolynomial(r)
        let n1 = n &>> 1
        return ((p * pow2(n1)).replacing(with: 0, where: x .< -120), pow2(n &- n1))
    }

    /// exp(x), rounded once even in the subnormal range.
    @inline(__always) static func exp(_ x: V) -> V {
        let (m, s) = expSplit(x)
        return m * s
    }

    /// e^r on |r| <= ln2 / 2 (Cephes expf minimax, about 1 ulp).
    @inline(__always) static func expPolynomial(_ r: V) -> V {
        var p: V = V(repeating: 1.987_569_15e-4)
        p = p * r + V(repeating: 1.398_199_95e-3)
        p = p * r + V(repeating: 8.333_451_9e-3)
        p = p * r + V(repeating: 4.166_579_6e-2)
        p = p * r + V(repeating: 1.666_666_55e-1)
        p = p * r + V(repeating: 5.000_000_12e-1)
        return p * (r * r) + r + 1
    }

    /// e^x - 1 for x <= 0 (larger lanes are clamped to 0), accurate near 0.
    @inline(__always) static func expm1Negative(_ xIn: V) -> V {
        let x = xIn.replacing(with: 0, where: xIn .> 0)
        // Taylor series to x^9 for |x| < 0.35 (truncation < 3e-10 relative).
        var p: V = V(repeating: 1.0 / 362_880)
        p = p * x + V(repeating: 1.0 / 40320)
        p = p * x + V(repeating: 1.0 / 5040)
        p = p * x + V(repeating: 1.0 / 720)
        p = p * x + V(repeating: 1.0 / 120)
        p = p * x + V(repeating: 1.0 / 24)
        p = p * x + V(repeating: 1.0 / 6)
        p = p * x + V(repeating: 0.5)
        let series = p * (x * x) + x
        let direct = exp(x) - 1
        return series.replacing(with: direct, where: x .< -0.35)
    }

    /// log(1 + y) for y in [0, 1], within about 2 ulp.
    @inline(__always) static func log1pUnit(_ y: V) -> V {
        let u = 1 + y
        let correction = (y - (u - 1)) / u          // what rounding 1 + y lost
        let big = u .> 1.414_213_5
        let m = u.replacing(with: u * 0.5, where: big)
        let e = V(repeating: 0).replacing(with: 1, where: big)
        let f = m - 1
        let s = f / (2 + f)
        let z = s * s
        // 2 atanh(s) = 2s (1 + z/3 + z^2/5 + ...), |s| <= 0.172.
        var q: V = V(repeating: 2.0 / 13)
        q = q * z + V(repeating: 2.0 / 11)
        q = q * z + V(repeating: 2.0 / 9)
        q = q * z + V(repeating: 2.0 / 7)
        q = q * z + V(repeating: 2.0 / 5)
        q = q * z + V(repeating: 2.0 / 3)
        let logM = s * (q * z) + 2 * s
        return e * ln2Hi + ((logM + e * ln2Lo) + correction)
    }

    /// Minimax fit of g(t) = ln(erfc(a) / t) + a^2 with t = 1 / (1 + a/2), as a degree-9
    /// polynomial in (t - 0.5), for a in [0, 10.5]; float evaluation error about 1.5e-7.
    @inline(__always) static func erfcExponent(_ t: V) -> V {
        let s = t - 0.5
        var p: V = V(repeating: 0.148_791_15)
        p = p * s - V(repeating: 0.032_287_069)
        p = p * s - V(repeating: 0.262_099_15)
        p = p * s + V(repeating: 0.108_985_43)
        p = p * s + V(repeating: 0.279_242_28)
        p = p * s - V(repeating: 0.157_664_43)
        p = p * s - V(repeating: 0.375_057_49)
        p = p * s + V(repeating: 0.189_366_3)
        p = p * s + V(repeating: 1.345_285_4)
        return p * s - V(repeating: 0.671_794_06)
    }

    /// Phi(x), the standard normal CDF, as `(mantissa, scale)` for its lower tail, with
    /// `upper` telling which lanes are 1 - mantissa * scale instead.
    ///
    /// Phi(x) = erfc(-x / sqrt 2) / 2 = t exp(-x^2/2 + g(t)) / 2 with a = |x| / sqrt 2.
    @inline(__always) static func normalTail(_ x: V) -> (mantissa: V, scale: V) {
        let a = abs(x) * 0.707_106_77
        let t = 1 / (1 + 0.5 * a)
        // x^2 / 2 is rounded once; its error scales with x^2, the problem's own condition.
        let (m, s) = expSplit(-0.5 * (x * x), erfcExponent(t))
        // Beyond a = 10.5 the tail is far below the smallest float (and the fit ends).
        return ((0.5 * t * m).replacing(with: 0, where: a .> 10.5), s)
    }

    /// |x| by clearing the sign bit.
    @inline(__always) static func abs(_ x: V) -> V { float(bits(x) & 0x7FFF_FFFF) }
}
