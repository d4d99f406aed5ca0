// The activation kernels (forward f(x), gradient g f'(x), matmul epilogue) written once over
// VectorFloat.h's `vf`, and the per-ISA entry points TE_ENTRY(te_activation_forward) etc.
// Included by ActivationsAVX2.c and ActivationsAVX512.c after VectorFloat.h (internal).
// The formulas are the portable Swift loops' (VectorActivations.swift / VectorMath.swift).

#ifndef TE_ENTRY
#error "define TE_ENTRY(name) before including ActivationBodies.h"
#endif

#include <string.h>
#include "../../Shaders/common/tensor_codes.h"

static const float log2e = 1.44269504f;
static const float ln2Hi = 0.693359375f;
static const float ln2Lo = -2.1219444e-4f;
static const float shifter = 12582912.0f;   // 1.5 * 2^23
static const int shifterBits = 0x4B400000;

/// e^r on |r| <= ln2 / 2: 1 + r + r^2 q(r), q of degree 4 fitted for the least relative error
/// (3.1e-9, below float32's rounding: evaluated in float32 it is as accurate as Cephes' degree-7 fit).
KERNEL vf exp_poly(vf r) {
    vf p = C(1.38145406e-3f);
    p = fmadd(p, r, C(8.36874545e-3f));
    p = fmadd(p, r, C(4.16683890e-2f));
    p = fmadd(p, r, C(1.66665211e-1f));
    p = fmadd(p, r, C(4.99999940e-1f));
    return add(fmadd(p, mul(r, r), r), C(1));
}

/// The body of exp_split and exp_split_bounded: e^(hi + lo) with n = round(e log2 e) taken from
/// `e` (hi + lo, clamped or not). AVX2: *m = p 2^n1, *s = 2^(n - n1); AVX-512: *m = p, *s = n,
/// applied by scalef (exact exponent arithmetic).
KERNEL void exp_split_from(vf e, vf hi, vf lo, vf *m, vf *s) {
    vf shifted = fmadd(e, C(log2e), C(shifter));
    vf nf = sub(shifted, C(shifter));
    vf p = exp_poly(add(fnma(nf, C(ln2Lo), fnma(nf, C(ln2Hi), hi)), lo));
#if TE_VECTOR_BITS == 512
    *m = p;
    *s = nf;
#else
    vi n = isub(bits(shifted), CI(shifterBits));
    vi n1 = half(n);
    *m = mul(p, pow2i(n1));
    *s = pow2i(isub(n, n1));
#endif
}

/// exp(hi + lo) = scale(*m, *s) (the scale applied last, so tiny results round once).
/// Arguments below 88; below -120 the result is exactly 0 (e^-120 = 2^-173: 0 even times the
/// callers' factors, up to 6e3, that keep their results above float32's underflow past e^-104);
/// NaN propagates.
KERNEL void exp_split(vf hi, vf lo, vf *m, vf *s) {
    vf x = add(hi, lo);
    exp_split_from(vmax(C(-120), x), hi, lo, m, s);    // NaN stays NaN (second operand)
    *m = drop(lt(x, C(-120)), *m);
}

/// exp_split for hi + lo known to lie in [-120, 88]: no clamp or underflow mask.
KERNEL void exp_split_bounded(vf hi, vf lo, vf *m, vf *s) { exp_split_from(add(hi, lo), hi, lo, m, s); }

KERNEL void exp2_split(vf e, vf *m, vf *s);
/// e^x = scale(*m, *s) through 2^(x log2 e): the product's rounding costs |x| eps / 2 relative,
/// within what the activations' conditioning allows (|x f'(x) / f(x)| grows as fast).
KERNEL void exp_split1(vf x, vf *m, vf *s) { exp2_split(mul(x, C(log2e)), m, s); }

KERNEL vf vexp(vf x) {
    vf m, s;
    exp_split1(x, &m, &s);
    return scale(m, s);
}

/// e^x - 1 for x <= 0 (larger lanes clamped to 0), accurate near 0.
KERNEL vf expm1_negative(vf xin) {
    vf x = drop(gt(xin, C(0)), xin);
    vf p = C(1.0 / 362880);
    p = fmadd(p, x, C(1.0 / 40320));
    p = fmadd(p, x, C(1.0 / 5040));
    p = fmadd(p, x, C(1.0 / 720));
    p = fmadd(p, x, C(1.0 / 120));
    p = fmadd(p, x, C(1.0 / 24));
    p = fmadd(p, x, C(1.0 / 6));
    p = fmadd(p, x, C(0.5));
    vf series = fmadd(p, mul(x, x), x);
    vf direct = sub(vexp(x), C(1));
    return sel(lt(x, C(-0.35)), direct, series);
}

/// log(1 + y) for y in [0, 1].
KERNEL vf log1p_unit(vf y) {
    vf u = add(C(1), y);
    vf correction = dvd(sub(y, sub(u, C(1))), u);
    vm big = gt(u, C(1.4142135f));
    vf m = sel(big, mul(u, C(0.5)), u);
    vf e = keep(big, C(1));
    vf f = sub(m, C(1));
    vf s = dvd(f, add(C(2), f));
    vf z = mul(s, s);
    vf q = C(2.0 / 13);
    q = fmadd(q, z, C(2.0 / 11));
    q = fmadd(q, z, C(2.0 / 9));
    q = fmadd(q, z, C(2.0 / 7));
    q = fmadd(q, z, C(2.0 / 5));
    q = fmadd(q, z, C(2.0 / 3));
    vf logM = fmadd(s, mul(q, z), mul(C(2), s));
    return fmadd(e, C(ln2Hi), add(fmadd(e, C(ln2Lo), logM), correction));
}

/// 2^f for |f| <= 1/2: 1 + f q(f), q of degree 5 fitted for the least relative error (2e-9,
/// below float32's rounding).
KERNEL vf exp2_poly(vf f) {
    vf p = C(1.53533096e-4f);
    p = fmadd(p, f, C(1.33989390e-3f));
    p = fmadd(p, f, C(9.61843785e-3f));
    p = fmadd(p, f, C(5.55033237e-2f));
    p = fmadd(p, f, C(2.40226477e-1f));
    p = fmadd(p, f, C(6.93147182e-1f));
    return fmadd(p, f, C(1));
}

/// 2^e = scale(*m, *s), exactly 0 below e = -151 (where 2^e rounds to 0 even times a large
/// factor, e.g. x in x sigmoid(x)); NaN propagates. The
/// reduction e = n + f is exact (n = round(e)), so the only errors are e's own and the
/// polynomial's: a base-2 exponent computed by one fused multiply-add replaces exp's
/// two-constant ln 2 reduction.
KERNEL void exp2_split(vf e, vf *m, vf *s) {
    vf clamped = vmax(C(-151), e);                     // NaN stays NaN (second operand)
    vf shifted = add(clamped, C(shifter));
    vf nf = sub(shifted, C(shifter));
    vf p = drop(lt(e, C(-151)), exp2_poly(sub(clamped, nf)));
#if TE_VECTOR_BITS == 512
    *m = p;
    *s = nf;
#else
    vi n = isub(bits(shifted), CI(shifterBits));
    vi n1 = half(n);
    *m = mul(p, pow2i(n1));
    *s = pow2i(isub(n, n1));
#endif
}

/// 2^f for |f| <= 1/2 to 9.2e-8 relative (1.5 float32 roundoffs): 1 + f q(f), q of degree 4
/// fitted for the least relative error; one multiply-add cheaper than exp2_poly, for kernels
/// whose error budget has the room (GELU forward).
KERNEL vf exp2_poly_short(vf f) {
    vf p = C(1.32646703e-3f);
    p = fmadd(p, f, C(9.67149995e-3f));
    p = fmadd(p, f, C(5.55073358e-2f));
    p = fmadd(p, f, C(2.40222424e-1f));
    p = fmadd(p, f, C(6.93147004e-1f));
    return fmadd(p, f, C(1));
}

/// 2^e = scale(*m, *s) for e known to lie in [-250, 126]: no clamping or underflow mask
/// (AVX-512's scalef rounds into the subnormals and to 0 itself; on AVX2 the exponent is split
/// in two normal factors). `precise` (a constant after inlining) picks exp2_poly over
/// exp2_poly_short. NaN propagates.
KERNEL void exp2_bounded(vf e, int precise, vf *m, vf *s) {
    vf nf = vround(e);
    vf f = sub(e, nf);
    vf p = precise ? exp2_poly(f) : exp2_poly_short(f);
#if TE_VECTOR_BITS == 512
    *m = p;
    *s = nf;
#else
    vi n = ints(nf);
    vi n1 = half(n);
    *m = mul(p, pow2i(n1));
    *s = pow2i(isub(n, n1));
#endif
}

static const float halfLog2e = -0.721347511f;   // -log2(e) / 2

// ---- kernels: forward f(x), gradient g f'(x) ----

KERNEL vf relu_f(vf x, vf p) { (void)p; return drop(le(x, C(0)), x); }
KERNEL vf relu_g(vf x, vf g, vf p) { (void)p; return keep(gt(x, C(0)), g); }

KERNEL vf leaky_f(vf x, vf p) { return sel(gt(x, C(0)), x, mul(p, x)); }
KERNEL vf leaky_g(vf x, vf g, vf p) { return sel(gt(x, C(0)), g, mul(p, g)); }

/// log2(|x| Phi(-|x|) / u) + x^2 / (2 ln 2) with u = |x| / (1 + 0.4 |x|), |x| in [0, 14.9]: a
/// degree-6 polynomial in u - 1.07040226, fitted (scripts/fit-gelu-tail.py) for the least
/// error relative to GELU's own conditioning, weighted twice on |x| in [0.3, 1.3] where the
/// rest of the kernel's roundings concentrate.
KERNEL vf gelu_tail_exponent2(vf u) {
    vf s = sub(u, C(1.07040226f));
    vf p = C(-1.05327461e-3f);
    p = fmadd(p, s, C(-3.02984216e-3f));
    p = fmadd(p, s, C(4.9163294e-3f));
    p = fmadd(p, s, C(3.49680372e-2f));
    p = fmadd(p, s, C(-2.11008675e-2f));
    p = fmadd(p, s, C(-0.704245687f));
    return fmadd(p, s, C(-1.69589126f));
}

/// GELU(x) = relu(x) - |x| Phi(-|x|): one lower-tail term for both signs, no masks, with
/// |x| Phi(-|x|) = u 2^(g(u) - x^2 log2(e) / 2). |x| is clamped to 14.9 (where the fit ends;
/// the term has long rounded to 0), so x = +-inf gives inf and 0, and NaN propagates through
/// the min, max and subtraction. The exponent lies in [-163, 0], so exp2_bounded needs no
/// clamping. Degree 6 and the short 2^f polynomial are as much as float32 needs: every float
/// in [-1.2, -0.3] and a sweep of the rest measured at most 5.9 conditioned roundoffs (the
/// tests allow 8).
KERNEL vf gelu_f(vf x, vf p) {
    (void)p;
    vf a = vmin(C(14.9f), vabs(x));
    vf u = dvd(a, fmadd(C(0.4f), a, C(1)));
    vf m, s;
    exp2_bounded(fmadd(mul(a, a), C(halfLog2e), gelu_tail_exponent2(u)), 0, &m, &s);
    return sub(vmax(C(0), x), scale(mul(u, m), s));
}

/// Phi(-a) e^(a^2 / 2) (1 + 0.47 a) for a in [0, 14.9]: a degree-6 polynomial in
/// t - 0.562476575, t = 1 / (1 + 0.47 a), fitted (scripts/fit-gelu-tail.py) for the least error
/// relative to what GELU's derivative allows (its conditioning eps (|f'| + |x f''|)).
KERNEL vf gelu_tail_ratio(vf t) {
    vf s = sub(t, C(0.562476575f));
    vf p = C(-4.434691e-2f);
    p = fmadd(p, s, C(8.54696482e-2f));
    p = fmadd(p, s, C(-1.41603397e-2f));
    p = fmadd(p, s, C(-0.133656472f));
    p = fmadd(p, s, C(7.85027519e-2f));
    p = fmadd(p, s, C(0.350223422f));
    return fmadd(p, s, C(0.342395395f));
}

/// GELU'(x) = Phi(x) + x phi(x) = H(x) + sign(x) d, d = a phi(a) - Phi(-a) (a = |x|), with
/// d = 2^(-a^2 log2(e) / 2) (a / sqrt(2 pi) - t h(t)): one exponential for both terms, no masks.
/// |x| clamped to 14.9 as in gelu_f (d has rounded to 0); NaN propagates. Every float in
/// [-2.5, -0.2] (stride 3) and a sweep of the rest measured at most 6.3 conditioned roundoffs.
KERNEL vf gelu_g(vf x, vf g, vf p) {
    (void)p;
    vf a = vmin(C(14.9f), vabs(x));
    vf t = dvd(C(1), fmadd(C(0.47f), a, C(1)));
    vf m, s;
    exp2_bounded(mul(mul(a, a), C(halfLog2e)), 1, &m, &s);
    vf d = scale(mul(m, fnma(t, gelu_tail_ratio(t), mul(a, C(0.398942280f)))), s);
    return mul(g, sel(lt(x, C(0)), sub(C(0), d), add(C(1), d)));
}

static const float geluK = 0.7978846f;
static const float geluC = 0.044715f;

KERNEL vf gelu_tanh_f(vf x, vf p) {
    (void)p;
    vf u = mul(mul(C(geluK), x), fmadd(C(geluC), mul(x, x), C(1)));
    vf em, es;
    exp_split1(mul(C(-2), vabs(u)), &em, &es);
    vf r = recip(exp_plus1(em, es));
    return sel(lt(u, C(0)), scale(mul(mul(x, em), r), es), mul(x, r));
}

static const float geluK2 = 1.5957692f;         // 2 sqrt(2/pi)
static const float geluK2Lo = -4.534068e-08f;   // 2 sqrt(2/pi) - geluK2
static const float geluK2C = 0.071354814f;      // 2 sqrt(2/pi) 0.044715

/// GELU_tanh'(x) = sigmoid(2u) + 2 x u' sigmoid(2u) (1 - sigmoid(2u)); with a = |x|, s = e^(-2|u|)
/// and W = 2 a u' it is s (1 + s - W) / (1 + s)^2 for x < 0 and (1 + s + W s) / (1 + s)^2
/// otherwise. Near x = -1.42 (the minimum of GELU_tanh', where its conditioning allows only
/// float32's own rounding) s carries 2|u|'s rounding times 2|u|, and 1 + s - W cancels 1.6x,
/// so -2|u| = a q, q = -(2 sqrt(2/pi) + 2 sqrt(2/pi) 0.044715 a^2), is formed as hi + lo (the
/// multiply-add's and the product's errors recovered exactly while a <= 4.7, where the
/// conditioning is tightest; 2 sqrt(2/pi) as two floats) and passed to the two-constant exp
/// whole: 10.8 conditioned roundoffs before any of this, 5.1 with it. |x| is clamped to 11.2,
/// where -2|u| = -118.1 (no exp clamp needed) and GELU_tanh' is 1.6e-49 (0 as a float; from
/// x = -10.9 on it rounds to 0); x = +-inf gives 1 and 0; NaN propagates.
KERNEL vf gelu_tanh_g(vf x, vf g, vf p) {
    (void)p;
    vf a = vmin(C(11.2f), vabs(x));
    vf a2 = mul(a, a);                  // its rounding reaches q through 0.045 a^2 / (1 + 0.045 a^2): < 0.05 ulp
    vf q = fmadd(C(-geluK2C), a2, C(-geluK2));
    vf qlo = add(fmadd(C(-geluK2C), a2, sub(C(-geluK2), q)), C(-geluK2Lo));   // -K2 - q is exact
    vf t = mul(a, q);                                          // -2|u| = t + tlo
    vf tlo = fmadd(a, qlo, fmsub(a, q, t));
    vf em, es;
    exp_split_bounded(t, tlo, &em, &es);
    vf w = fmadd(a, fmadd(C(3 * geluK2C), a2, C(geluK2)), mul(a, C(geluK2Lo)));   // 2 a u'
    vf s = scale(em, es);
    vf ps = add(C(1), s);
    vf inverse = recip(fmadd(s, add(s, C(2)), C(1)));          // 1 / (1 + s)^2
    vm negative = lt(x, C(0));
    vf numerator = sel(negative, mul(em, sub(ps, w)), fmadd(w, s, ps));   // em: s before its scale
    vf r = mul(mul(g, numerator), inverse);
    return sel(negative, scale(r, es), r);
}

KERNEL vf silu_f(vf x, vf p) {
    (void)p;
    vf em, es;
    exp_split1(or_(x, C(-0.0f)), &em, &es);
    vf r = recip(exp_plus1(em, es));
    return sel(lt(x, C(0)), scale(mul(mul(x, em), r), es), mul(x, r));
}

/// SiLU'(x) = sigmoid(x) (1 + x (1 - sigmoid(x))) from e = e^-|x|. Near its minimum (x = -2.40,
/// where the conditioning allows only float32's rounding) the exp's own error passes through
/// whole, so it takes the two-constant exp: 7.2 -> 5.4 conditioned roundoffs, at no measured cost.
KERNEL vf silu_g(vf x, vf g, vf p) {
    (void)p;
    vf em, es;
    exp_split(or_(x, C(-0.0f)), C(0), &em, &es);
    vf e = scale(em, es);
    vf r = recip(add(C(1), e));
    vf positive = mul(g, mul(r, fmadd(x, mul(e, r), C(1))));
    vf negative = scale(mul(g, mul(mul(em, r), fmadd(x, r, C(1)))), es);
    return sel(lt(x, C(0)), negative, positive);
}

KERNEL vf mish_f(vf x, vf p) {
    (void)p;
    vf em, es;
    exp_split1(vmin(C(20), x), &em, &es);
    vf e = scale(em, es);
    vf e2 = add(e, C(2));
    vf n = mul(e, e2);
    vf tm = dvd(mul(em, e2), add(n, C(2)));
    return scale(mul(x, tm), es);
}

/// Mish'(x) = t + x (1 - t^2) sigmoid(x) with t = tanh(softplus(x)); with e = e^x and
/// D = e^2 + 2e + 2 it is e N / D^2, N = (e + 2) D + 4 x (1 + e) = e^3 + 4e^2 + (6 + 4x) e + 4 + 4x
/// by Horner in e: near x = -2.24 (Mish''s minimum, where its conditioning allows only float32's
/// rounding) N cancels, and its leading 4 + 4x carries one rounding instead of two products'.
/// e comes from the two-constant exp (through 2^(x log2 e) its argument's rounding alone cost
/// 2.2 roundoffs there). Worst measured error 9.2 -> 5.6 conditioned roundoffs. x is clamped to
/// [-150, 20] (beyond, the result has rounded to 0 and 1); NaN propagates.
KERNEL vf mish_g(vf x, vf g, vf p) {
    (void)p;
    vf xc = vmax(C(-150), vmin(C(20), x));
    vf em, es;
    exp_split(xc, C(0), &em, &es);
    vf e = scale(em, es);
    vf d = fmadd(e, add(e, C(2)), C(2));
    vf x4 = mul(C(4), xc);
    vf n = fmadd(fmadd(add(e, C(4)), e, add(C(6), x4)), e, add(C(4), x4));
    return scale(mul(mul(g, em), dvd(n, mul(d, d))), es);
}

KERNEL vf tanh_f(vf x, vf p) {
    (void)p;
    vf q = expm1_negative(mul(C(-2), vabs(x)));
    vf t = dvd(sub(C(0), q), add(C(2), q));
    return or_(t, and_(x, C(-0.0f)));
}

KERNEL vf tanh_g(vf x, vf g, vf p) {
    (void)p;
    vf em, es;
    exp_split1(mul(C(-2), vabs(x)), &em, &es);
    vf d = exp_plus1(em, es);
    return scale(mul(g, dvd(mul(C(4), em), mul(d, d))), es);
}

KERNEL vf sigmoid_f(vf x, vf p) {
    (void)p;
    vf em, es;
    exp_split1(or_(x, C(-0.0f)), &em, &es);
    vf r = recip(exp_plus1(em, es));
    return sel(lt(x, C(0)), scale(mul(em, r), es), r);
}

KERNEL vf sigmoid_g(vf x, vf g, vf p) {
    (void)p;
    vf em, es;
    exp_split1(or_(x, C(-0.0f)), &em, &es);
    vf r = recip(exp_plus1(em, es));
    return scale(mul(g, mul(mul(em, r), r)), es);
}

KERNEL vf softplus_f(vf x, vf p) {
    (void)p;
    vf e = vexp(or_(x, C(-0.0f)));
    return add(drop(lt(x, C(0)), x), log1p_unit(e));
}

KERNEL vf softplus_g(vf x, vf g, vf p) {
    (void)p;
    vf em, es;
    exp_split1(or_(x, C(-0.0f)), &em, &es);
    vf r = recip(exp_plus1(em, es));
    return sel(lt(x, C(0)), scale(mul(mul(g, em), r), es), mul(g, r));
}

KERNEL vf elu_f(vf x, vf p) {
    return sel(gt(x, C(0)), x, mul(p, expm1_negative(x)));
}

KERNEL vf elu_g(vf x, vf g, vf p) {
    vm pos = gt(x, C(0));
    vf em, es;
    exp_split1(drop(pos, x), &em, &es);
    return sel(pos, g, scale(mul(mul(g, p), em), es));
}

KERNEL vf identity_f(vf x, vf p) { (void)p; return x; }

// ---- loops: LANES at a time, the tail through a zero-padded vector ----

/// Outputs of at least 2^21 floats (8 MiB, a chunk of a tensor far larger than the caches)
/// are written with non-temporal stores where aligned: no read of the destination's lines
/// before writing them (a third less memory traffic for a forward pass), and no eviction of
/// what the caches hold. Smaller outputs stay in the cache for the next op.
static inline int streams(const float *y, long n) {
    return n >= (1L << 21) && ((unsigned long)y % (REG_LANES * 4)) == 0;
}

#define LOOPS(name, F, G)                                                                       \
    static TGT void name##_forward(const float *x, float *y, long n, float param) {            \
        vf p = splat(param);                                                                    \
        long i = 0;                                                                             \
        for (; i + LANES <= n; i += LANES) store(y + i, F(load(x + i), p));                     \
        if (i < n) {                                                                            \
            float bx[LANES] = {0};                                                              \
            memcpy(bx, x + i, (size_t)(n - i) * 4);                                             \
            store(bx, F(load(bx), p));                                                          \
            memcpy(y + i, bx, (size_t)(n - i) * 4);                                             \
        }                                                                                       \
    }                                                                                           \
    static TGT void name##_backward(const float *x, const float *g, float *o, long n,          \
                                    float param) {                                              \
        vf p = splat(param);                                                                    \
        long i = 0;                                                                             \
        for (; i + LANES <= n; i += LANES) store(o + i, G(load(x + i), load(g + i), p));        \
        if (i < n) {                                                                            \
            float bx[LANES] = {0}, bg[LANES] = {0};                                             \
            memcpy(bx, x + i, (size_t)(n - i) * 4);                                             \
            memcpy(bg, g + i, (size_t)(n - i) * 4);                                             \
            store(bx, G(load(bx), load(bg), p));                                                \
            memcpy(o + i, bx, (size_t)(n - i) * 4);                                             \
        }                                                                                       \
    }                                                                                           \
    /* Streaming copies in functions of their own, so the cached loops compile as before    \
       (a second loop, or a branch on each store, slowed the softplus derivative 6-10%). */  \
    static TGT void name##_forward_streamed(const float *x, float *y, long n, float param) {   \
        vf p = splat(param);                                                                    \
        long i = 0;                                                                             \
        for (; i + LANES <= n; i += LANES) stream(y + i, F(load(x + i), p));                    \
        fence();                                                                                \
        name##_forward(x + i, y + i, n - i, param);                                             \
    }                                                                                           \
    static TGT void name##_backward_streamed(const float *x, const float *g, float *o, long n, \
                                             float param) {                                     \
        vf p = splat(param);                                                                    \
        long i = 0;                                                                             \
        for (; i + LANES <= n; i += LANES) stream(o + i, G(load(x + i), load(g + i), p));       \
        fence();                                                                                \
        name##_backward(x + i, g + i, o + i, n - i, param);                                     \
    }                                                                                           \
    static TGT void name##_epilogue(const float *bias, float *pre, float *row, long n,         \
                                    float param) {                                              \
        vf p = splat(param);                                                                    \
        long i = 0;                                                                             \
        for (; i + LANES <= n; i += LANES) {                                                    \
            vf v = load(row + i);                                                               \
            if (bias) v = add(v, load(bias + i));                                               \
            if (pre) store(pre + i, v);                                                         \
            store(row + i, F(v, p));                                                            \
        }                                                                                       \
        if (i < n) {                                                                            \
            float bv[LANES] = {0}, bb[LANES] = {0};                                             \
            memcpy(bv, row + i, (size_t)(n - i) * 4);                                           \
            vf v = load(bv);                                                                    \
            if (bias) {                                                                         \
                memcpy(bb, bias + i, (size_t)(n - i) * 4);                                      \
                v = add(v, load(bb));                                                           \
            }                                                                                   \
            store(bv, v);                                                                       \
            if (pre) memcpy(pre + i, bv, (size_t)(n - i) * 4);                                  \
            store(bv, F(v, p));                                                                 \
            memcpy(row + i, bv, (size_t)(n - i) * 4);                                           \
        }                                                                                       \
    }

KERNEL vf identity_g(vf x, vf g, vf p) { (void)x; (void)p; return g; }

LOOPS(identity, identity_f, identity_g)
LOOPS(relu, relu_f, relu_g)
LOOPS(leaky, leaky_f, leaky_g)
LOOPS(gelu, gelu_f, gelu_g)
LOOPS(gelu_tanh, gelu_tanh_f, gelu_tanh_g)
LOOPS(silu, silu_f, silu_g)
LOOPS(mish, mish_f, mish_g)
LOOPS(tanh, tanh_f, tanh_g)
LOOPS(sigmoid, sigmoid_f, sigmoid_g)
LOOPS(softplus, softplus_f, softplus_g)
LOOPS(elu, elu_f, elu_g)

typedef void (*forward_fn)(const float *, float *, long, float);
typedef void (*backward_fn)(const float *, const float *, float *, long, float);
typedef void (*epilogue_fn)(const float *, float *, float *, long, float);

// Indexed by Activation.kernelCode: the shared codes of Shaders/common/tensor_codes.h.
static const forward_fn forwards[TE_ACT_COUNT] = {
    [TE_ACT_IDENTITY] = identity_forward,
    [TE_ACT_RELU] = relu_forward,
    [TE_ACT_LEAKY_RELU] = leaky_forward,
    [TE_ACT_GELU] = gelu_forward,
    [TE_ACT_GELU_TANH] = gelu_tanh_forward,
    [TE_ACT_SILU] = silu_forward,
    [TE_ACT_MISH] = mish_forward,
    [TE_ACT_TANH] = tanh_forward,
    [TE_ACT_SIGMOID] = sigmoid_forward,
    [TE_ACT_SOFTPLUS] = softplus_forward,
    [TE_ACT_ELU] = elu_forward,
};
static const backward_fn backwards[TE_ACT_COUNT] = {
    [TE_ACT_IDENTITY] = identity_backward,
    [TE_ACT_RELU] = relu_backward,
    [TE_ACT_LEAKY_RELU] = leaky_backward,
    [TE_ACT_GELU] = gelu_backward,
    [TE_ACT_GELU_TANH] = gelu_tanh_backward,
    [TE_ACT_SILU] = silu_backward,
    [TE_ACT_MISH] = mish_backward,
    [TE_ACT_TANH] = tanh_backward,
    [TE_ACT_SIGMOID] = sigmoid_backward,
    [TE_ACT_SOFTPLUS] = softplus_backward,
    [TE_ACT_ELU] = elu_backward,
};
static const forward_fn forwardsStreamed[TE_ACT_COUNT] = {
    [TE_ACT_IDENTITY] = identity_forward_streamed,
    [TE_ACT_RELU] = relu_forward_streamed,
    [TE_ACT_LEAKY_RELU] = leaky_forward_streamed,
    [TE_ACT_GELU] = gelu_forward_streamed,
    [TE_ACT_GELU_TANH] = gelu_tanh_forward_streamed,
    [TE_ACT_SILU] = silu_forward_streamed,
    [TE_ACT_MISH] = mish_forward_streamed,
    [TE_ACT_TANH] = tanh_forward_streamed,
    [TE_ACT_SIGMOID] = sigmoid_forward_streamed,
    [TE_ACT_SOFTPLUS] = softplus_forward_streamed,
    [TE_ACT_ELU] = elu_forward_streamed,
};
static const backward_fn backwardsStreamed[TE_ACT_COUNT] = {
    [TE_ACT_IDENTITY] = identity_backward_streamed,
    [TE_ACT_RELU] = relu_backward_streamed,
    [TE_ACT_LEAKY_RELU] = leaky_backward_streamed,
    [TE_ACT_GELU] = gelu_backward_streamed,
    [TE_ACT_GELU_TANH] = gelu_tanh_backward_streamed,
    [TE_ACT_SILU] = silu_backward_streamed,
    [TE_ACT_MISH] = mish_backward_streamed,
    [TE_ACT_TANH] = tanh_backward_streamed,
    [TE_ACT_SIGMOID] = sigmoid_backward_streamed,
    [TE_ACT_SOFTPLUS] = softplus_backward_streamed,
    [TE_ACT_ELU] = elu_backward_streamed,
};
static const epilogue_fn epilogues[TE_ACT_COUNT] = {
    [TE_ACT_IDENTITY] = identity_epilogue,
    [TE_ACT_RELU] = relu_epilogue,
    [TE_ACT_LEAKY_RELU] = leaky_epilogue,
    [TE_ACT_GELU] = gelu_epilogue,
    [TE_ACT_GELU_TANH] = gelu_tanh_epilogue,
    [TE_ACT_SILU] = silu_epilogue,
    [TE_ACT_MISH] = mish_epilogue,
    [TE_ACT_TANH] = tanh_epilogue,
    [TE_ACT_SIGMOID] = sigmoid_epilogue,
    [TE_ACT_SOFTPLUS] = softplus_epilogue,
    [TE_ACT_ELU] = elu_epilogue,
};
int TE_ENTRY(te_activation_forward)(int code, float p, const float *x, float *y, long n) {
    if (code < 0 || code >= TE_ACT_COUNT) return 0;
    (streams(y, n) ? forwardsStreamed : forwards)[code](x, y, n, p);
    return 1;
}

int TE_ENTRY(te_activation_backward)(int code, float p, const float *x, const float *g, float *out, long n) {
    if (code < 0 || code >= TE_ACT_COUNT) return 0;
    (streams(out, n) ? backwardsStreamed : backwards)[code](x, g, out, n, p);
    return 1;
}

int TE_ENTRY(te_activation_epilogue)(int code, float p, const float *bias, float *pre, float *row, long n) {
    if (code < 0 || code >= TE_ACT_COUNT) return 0;
    epilogues[code](bias, pre, row, n, p);
    return 1;
}
