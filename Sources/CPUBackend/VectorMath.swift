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
    /// Valid for |lo| small against 1 or for hi + lo near zero; hi + lo is clamped to
    /// [-104, 89] (results 0 and infinity beyond), NaN propagates.
    @inline(__always)
    static func expSplit(_ hi: V, _ lo: V = V()) -> (V, V) {
        var x = hi + lo
        x.replace(with: 89, where: x .> 89)
        x.replace(with: -104, where: x .< -104)
        let shifted = x * log2e + shifter
        let nf = shifted - shifter
        let n = bits(shifted) &- shifterBits
        // r = hi + lo - n ln2, computed with the exact product n * ln2Hi first.
        let clampedHi = hi.replacing(with: x, where: (x .!= hi + lo))
        let clampedLo = lo.replacing(with: 0, where: (x .!= hi + lo))
        let r = ((clampedHi - nf * ln2Hi) - nf * ln2Lo) + clampedLo
        let p = expPolynomial(r)
        let n1 = n &>> 1
        // Below -104 the true value is far under the smallest subnormal: exactly 0.
        return ((p * pow2(n1)).replacing(with: 0, where: hi + lo .< -104), pow2(n &- n1))
    }

    /// exp(x), rounded once even in the subnormal range.
    @inline(__always) static func exp(_ x: V) -> V {
        let (m, s) = expSplit(x)
        return m * s
    }

    /// e^r on |r| <= ln2 / 2 (Cephes expf minimax, about 1 ulp).
    @inline(__always) static func expPolynomial(_ r: V) -> V {
        var p: V = V(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_6e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        return p * (r * r) + r + 1
    }

    /// e^x - 1 for x <= 0 (larger lanes are clamped to 0), accurate near 0.
    @inline(__always) static func expm1Negative(_ xIn: V) -> V {
        let x = xIn.replacing(with: 0, where: xIn .> 0)
        // Taylor series to x^9 for |x| < 0.35 (truncation < 3e-10 relative).
        var p: V = V(repeating: 1.0 / 362_880)
        p = p * x + 1.0 / 40320
        p = p * x + 1.0 / 5040
        p = p * x + 1.0 / 720
        p = p * x + 1.0 / 120
        p = p * x + 1.0 / 24
        p = p * x + 1.0 / 6
        p = p * x + 0.5
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
        q = q * z + 2.0 / 11
        q = q * z + 2.0 / 9
        q = q * z + 2.0 / 7
        q = q * z + 2.0 / 5
        q = q * z + 2.0 / 3
        let logM = s * (q * z) + 2 * s
        return e * ln2Hi + ((logM + e * ln2Lo) + correction)
    }

    /// x * x as an exact unevaluated sum hi + lo (Veltkamp/Dekker; no FMA needed), |x| < 2^60.
    @inline(__always) static func squareExact(_ x: V) -> (V, V) {
        let c = x * 4097
        let xh = c - (c - x)
        let xl = x - xh
        let hi = x * x
        let lo = ((xh * xh - hi) + 2 * xh * xl) + xl * xl
        return (hi, lo)
    }

    /// Minimax fit of g(t) = ln(erfc(a) / t) + a^2 with t = 1 / (1 + a/2), as a polynomial
    /// in (t - 0.5), for a in [0, 26]; float evaluation error about 1.7e-7.
    @inline(__always) static func erfcExponent(_ t: V) -> V {
        let s = t - 0.5
        var p: V = V(repeating: 0.135_997_295)
        p = p * s - 0.214_986_175
        p = p * s - 0.079_261_474
        p = p * s + 0.313_277_751
        p = p * s - 0.036_866_803
        p = p * s - 0.296_774_179
        p = p * s + 0.112_345_472
        p = p * s + 0.282_206_804
        p = p * s - 0.157_949_254
        p = p * s - 0.375_160_307
        p = p * s + 0.189_372_972
        p = p * s + 1.345_286_37
        return p * s - 0.671_794_057
    }

    /// Phi(x), the standard normal CDF, as `(mantissa, scale)` for its lower tail, with
    /// `upper` telling which lanes are 1 - mantissa * scale instead.
    ///
    /// Phi(x) = erfc(-x / sqrt 2) / 2 = t exp(-x^2/2 + g(t)) / 2 with a = |x| / sqrt 2.
    @inline(__always) static func normalTail(_ x: V) -> (mantissa: V, scale: V) {
        let a = abs(x) * 0.707_106_77
        let t = 1 / (1 + 0.5 * a)
        let (hi, lo) = squareExact(x)
        let (m, s) = expSplit(-0.5 * hi, -0.5 * lo + erfcExponent(t))
        // Beyond |x| = 20 the tail is far below the smallest float (and x^2 may be inf).
        return ((0.5 * t * m).replacing(with: 0, where: a .> 14), s)
    }

    /// |x| by clearing the sign bit.
    @inline(__always) static func abs(_ x: V) -> V { float(bits(x) & 0x7FFF_FFFF) }
}
