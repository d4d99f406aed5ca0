import TensorCore

/// One activation as vector code: `forward` is f(x); `gradient` is g * f'(x). Both apply
/// any subnormal scale factor last, so tiny results are rounded once.
protocol VectorActivation {
    static func forward(_ x: V, _ p: Float) -> V
    static func gradient(_ x: V, _ g: V, _ p: Float) -> V
}

private let zero = V(repeating: 0)
private let one = V(repeating: 1)

enum IdentityKernel: VectorActivation {
    @inline(__always) static func forward(_ x: V, _ p: Float) -> V { x }
    @inline(__always) static func gradient(_ x: V, _ g: V, _ p: Float) -> V { g }
}

enum ReLUKernel: VectorActivation {
    @inline(__always) static func forward(_ x: V, _ p: Float) -> V { x.replacing(with: 0, where: x .<= 0) }
    @inline(__always) static func gradient(_ x: V, _ g: V, _ p: Float) -> V { zero.replacing(with: g, where: x .> 0) }
}

enum LeakyReLUKernel: VectorActivation {
    @inline(__always) static func forward(_ x: V, _ p: Float) -> V { (p * x).replacing(with: x, where: x .> 0) }
    @inline(__always) static func gradient(_ x: V, _ g: V, _ p: Float) -> V { (p * g).replacing(with: g, where: x .> 0) }
}

/// x Phi(x) with Phi from the erfc tail: Phi = tail (x < 0) or 1 - tail (x >= 0).
enum GELUKernel: VectorActivation {
    @inline(__always) static func forward(_ x: V, _ p: Float) -> V {
        let (m, s) = VectorMath.normalTail(x)
        // A zero tail stays zero at x = +-inf (inf * 0 would make gelu(inf) NaN).
        let xTail = ((x * m) * s).replacing(with: 0, where: m .== 0)
        return (x - xTail).replacing(with: xTail, where: x .< 0)
    }

    /// Phi(x) + x pdf(x).
    @inline(__always) static func gradient(_ x: V, _ g: V, _ p: Float) -> V {
        let (m, s) = VectorMath.normalTail(x)
        let tail = m * s
        let phi = (1 - tail).replacing(with: tail, where: x .< 0)
        let (pm, ps) = VectorMath.expSplit(-0.5 * (x * x))
        let xPdf = ((x * 0.398_942_28) * pm) * ps
        return g * (phi + xPdf)
    }
}

/// 0.5 x (1 + tanh u) = x sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3).
enum GELUTanhKernel: VectorActivation {
    static let k: Float = 0.797_884_6
    static let c: Float = 0.044_715

    @inline(__always) static func forward(_ x: V, _ p: Float) -> V {
        let u = k * x * (1 + c * (x * x))
        let (em, es) = VectorMath.expSplit(-2 * VectorMath.abs(u))
        let r = 1 / (1 + em * es)
        return (x * r).replacing(with: ((x * em) * r) * es, where: u .< 0)
    }

    static let k2: Float = 1.595_769_2            // 2 sqrt(2/pi)
    static let k2Lo: Float = -4.534_068e-8        // 2 sqrt(2/pi) - k2
    static let k2c: Float = 0.071_354_814         // 2 sqrt(2/pi) 0.044715

    /// With a = |x|, s = exp(-2|u|), W = 2 a u': s (1 + s - W) / (1 + s)^2 for x < 0, else
    /// (1 + s + W s) / (1 + s)^2; -2|u| = a q formed as hi + lo for the two-constant exp (the C
    /// kernels' gelu_tanh_g explains why). |x| clamped to 11.2 (the result is 0 or 1 as a float
    /// beyond); NaN propagates.
    @inline(__always) static func gradient(_ x: V, _ g: V, _ p: Float) -> V {
        let magnitude = VectorMath.abs(x)
        let a = magnitude.replacing(with: 11.2, where: magnitude .> 11.2)
        let a2 = a * a
        let q = V(repeating: -k2).addingProduct(-k2c, a2)
        let qlo = (-k2 - q).addingProduct(-k2c, a2) - k2Lo
        let t = a * q
        let tlo = (-t).addingProduct(a, q).addingProduct(a, qlo)
        let (em, es) = VectorMath.expSplit(t, tlo)
        let w = (a * k2Lo).addingProduct(a, V(repeating: k2).addingProduct(3 * k2c, a2))
        let s = em * es
        let ps = 1 + s
        let inverse = 1 / one.addingProduct(s, s + 2)
        let negative = x .< 0
        let numerator = ps.addingProduct(w, s).replacing(with: em * (ps - w), where: negative)
        let r = (g * numerator) * inverse
        return r.replacing(with: r * es, where: negative)
    }
}

/// x sigmoid(x).
enum SiLUKernel: VectorActivation {
    @inline(__always) static func forward(_ x: V, _ p: Float) -> V {
        let (em, es) = VectorMath.expSplit(-VectorMath.abs(x))
        let r = 1 / (1 + em * es)
        return (x * r).replacing(with: ((x * em) * r) * es, where: x .< 0)
    }

    /// s (1 + x (1 - s)).
    @inline(__always) static func gradient(_ x: V, _ g: V, _ p: Float) -> V {
        let (em, es) = VectorMath.expSplit(-VectorMath.abs(x))
        let e = em * es
        let r = 1 / (1 + e)
        let positive = g * (r * (1 + x * (e * r)))
        let negative = (g * ((em * r) * (1 + x * r))) * es
        return positive.replacing(with: negative, where: x .< 0)
    }
}

/// x tanh(softplus(x)) = x n / (n + 2), n = e (e + 2), e = exp(x).
enum MishKernel: VectorActivation {
    @inline(__always) static func forward(_ x: V, _ p: Float) -> V {
        let (em, es) = VectorMath.expSplit(x.replacing(with: 20, where: x .> 20))
        let e = em * es
        let n = e * (e + 2)
        let tm = em * (e + 2) / (n + 2)
        return (x * tm) * es
    }

    /// e ((e + 2) D + 4 x (1 + e)) / D^2, D = e^2 + 2e + 2, the numerator by Horner in e (the
    /// C kernels' mish_g explains why). x clamped to [-150, 20]; NaN propagates.
    @inline(__always) static func gradient(_ x: V, _ g: V, _ p: Float) -> V {
        let xc = x.replacing(with: 20, where: x .> 20).replacing(with: -150, where: x .< -150)
        let (em, es) = VectorMath.expSplit(xc)
        let e = em * es
        let d = V(repeating: 2).addingProduct(e, e + 2)
        let x4 = 4 * xc
        let n = (4 + x4).addingProduct((6 + x4).addingProduct(e + 4, e), e)
        return ((g * em) * (n / (d * d))) * es
    }
}

/// tanh x = -q / (2 + q), q = expm1(-2|x|), with the sign of x.
enum TanhKernel: VectorActivation {
    @inline(__always) static func forward(_ x: V, _ p: Float) -> V {
        let q = VectorMath.expm1Negative(-2 * VectorMath.abs(x))
        let t = -q / (2 + q)
        return VectorMath.float(VectorMath.bits(t) | (VectorMath.bits(x) & VI(repeating: Int32(bitPattern: 0x8000_0000))))
    }

    /// sech^2 x = 4 E / (1 + E)^2, E = exp(-2|x|).
    @inline(__always) static func gradient(_ x: V, _ g: V, _ p: Float) -> V {
        let (em, es) = VectorMath.expSplit(-2 * VectorMath.abs(x))
        let e = em * es
        let d = 1 + e
        return (g * (4 * em / (d * d))) * es
    }
}

enum SigmoidKernel: VectorActivation {
    @inline(__always) static func forward(_ x: V, _ p: Float) -> V {
        let (em, es) = VectorMath.expSplit(-VectorMath.abs(x))
        let r = 1 / (1 + em * es)
        return r.replacing(with: (em * r) * es, where: x .< 0)
    }

    /// e / (1 + e)^2 with e = exp(-|x|).
    @inline(__always) static func gradient(_ x: V, _ g: V, _ p: Float) -> V {
        let (em, es) = VectorMath.expSplit(-VectorMath.abs(x))
        let r = 1 / (1 + em * es)
        return (g * (em * r * r)) * es
    }
}

/// max(x, 0) + log1p(exp(-|x|)).
enum SoftplusKernel: VectorActivation {
    @inline(__always) static func forward(_ x: V, _ p: Float) -> V {
        let e = VectorMath.exp(-VectorMath.abs(x))
        return x.replacing(with: 0, where: x .< 0) + VectorMath.log1pUnit(e)
    }

    /// sigmoid(x).
    @inline(__always) static func gradient(_ x: V, _ g: V, _ p: Float) -> V {
        let (em, es) = VectorMath.expSplit(-VectorMath.abs(x))
        let r = 1 / (1 + em * es)
        return (g * r).replacing(with: ((g * em) * r) * es, where: x .< 0)
    }
}

/// x (x > 0) or alpha expm1(x).
enum ELUKernel: VectorActivation {
    @inline(__always) static func forward(_ x: V, _ p: Float) -> V {
        (p * VectorMath.expm1Negative(x)).replacing(with: x, where: x .> 0)
    }

    @inline(__always) static func gradient(_ x: V, _ g: V, _ p: Float) -> V {
        let (em, es) = VectorMath.expSplit(x.replacing(with: 0, where: x .> 0))
        return ((g * p * em) * es).replacing(with: g, where: x .> 0)
    }
}
