// The `vf` vector abstraction the activation kernels are written in (internal; not part of
// include/). The including file defines TE_VECTOR_BITS first:
//   256: __m256 registers, compiled for AVX2 + FMA;
//   512: __m512 registers, compiled for AVX-512 F + BW + VL + DQ.
// Only the functions defined here and by the includer carry the target attribute (no -march
// flags), so the same source compiles twice into two ISA variants chosen at run time.
//
// A `vf` is TE_WIDTH registers processed in lockstep, so every step of the long dependency
// chains (division, polynomials, exp) has TE_WIDTH independent instructions to overlap.
// Comparisons give a `vm` (a lane mask: all-ones lanes on AVX2, a k-register on AVX-512),
// consumed by sel / keep / drop; and_ / or_ / andnot are bit operations on values.

#ifndef TE_VECTOR_FLOAT_H
#define TE_VECTOR_FLOAT_H

#include <immintrin.h>

#ifndef TE_WIDTH
#if TE_VECTOR_BITS == 512
#define TE_WIDTH 4   // 32 registers: four chains in lockstep measured 10-20% faster than two
                     // (ActivationsAVX512Wide.c compiles the kernels again with eight)
#else
#define TE_WIDTH 2
#endif
#endif

#if TE_VECTOR_BITS == 512
#define TE_TARGET "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma"
typedef __m512 vreg;
typedef __m512i vregi;
typedef __mmask16 vmreg;
enum { REG_LANES = 16 };
#elif TE_VECTOR_BITS == 256
#define TE_TARGET "avx2,fma"
typedef __m256 vreg;
typedef __m256i vregi;
typedef __m256 vmreg;
enum { REG_LANES = 8 };
#else
#error "define TE_VECTOR_BITS as 256 or 512 before including VectorFloat.h"
#endif

#define TGT __attribute__((target(TE_TARGET)))
#define KERNEL static inline __attribute__((always_inline, target(TE_TARGET)))

enum { W = TE_WIDTH, LANES = REG_LANES * TE_WIDTH };
typedef struct { vreg v[TE_WIDTH]; } vf;
typedef struct { vregi v[TE_WIDTH]; } vi;
typedef struct { vmreg v[TE_WIDTH]; } vm;

// Every loop over the TE_WIDTH registers is unrolled (a `vf` must live in registers, not
// memory): clang does so at any optimization level, GCC at -O2 only when told (without it,
// GCC 12 -O2 ran GELU twelve times slower than -O3).
#define EACH_REGISTER _Pragma("GCC unroll 16") for (int k = 0; k < W; k++)
#define EACH(T, expr) T r; EACH_REGISTER r.v[k] = expr; return r

#if TE_VECTOR_BITS == 512

KERNEL vf splat(float x) { EACH(vf, _mm512_set1_ps(x)); }
KERNEL vi splati(int x) { EACH(vi, _mm512_set1_epi32(x)); }
KERNEL vf load(const float *p) { EACH(vf, _mm512_loadu_ps(p + 16 * k)); }
KERNEL void store(float *p, vf a) { EACH_REGISTER _mm512_storeu_ps(p + 16 * k, a.v[k]); }
/// A non-temporal store to 64-byte-aligned p (fence() before another thread reads it).
KERNEL void stream(float *p, vf a) { EACH_REGISTER _mm512_stream_ps(p + 16 * k, a.v[k]); }
KERNEL vf add(vf a, vf b) { EACH(vf, _mm512_add_ps(a.v[k], b.v[k])); }
KERNEL vf sub(vf a, vf b) { EACH(vf, _mm512_sub_ps(a.v[k], b.v[k])); }
KERNEL vf mul(vf a, vf b) { EACH(vf, _mm512_mul_ps(a.v[k], b.v[k])); }
KERNEL vf dvd(vf a, vf b) { EACH(vf, _mm512_div_ps(a.v[k], b.v[k])); }
KERNEL vf fmadd(vf a, vf b, vf c) { EACH(vf, _mm512_fmadd_ps(a.v[k], b.v[k], c.v[k])); }
KERNEL vf fnma(vf a, vf b, vf c) { EACH(vf, _mm512_fnmadd_ps(a.v[k], b.v[k], c.v[k])); }
/// a b - c with one rounding.
KERNEL vf fmsub(vf a, vf b, vf c) { EACH(vf, _mm512_fmsub_ps(a.v[k], b.v[k], c.v[k])); }
KERNEL vf sel(vm mask, vf a, vf b) { EACH(vf, _mm512_mask_blend_ps(mask.v[k], b.v[k], a.v[k])); }
KERNEL vf keep(vm mask, vf a) { EACH(vf, _mm512_maskz_mov_ps(mask.v[k], a.v[k])); }
KERNEL vf drop(vm mask, vf a) { EACH(vf, _mm512_maskz_mov_ps((__mmask16)~mask.v[k], a.v[k])); }
KERNEL vm lt(vf a, vf b) { EACH(vm, _mm512_cmp_ps_mask(a.v[k], b.v[k], _CMP_LT_OQ)); }
KERNEL vm gt(vf a, vf b) { EACH(vm, _mm512_cmp_ps_mask(a.v[k], b.v[k], _CMP_GT_OQ)); }
KERNEL vm le(vf a, vf b) { EACH(vm, _mm512_cmp_ps_mask(a.v[k], b.v[k], _CMP_LE_OQ)); }
KERNEL vf and_(vf a, vf b) { EACH(vf, _mm512_and_ps(a.v[k], b.v[k])); }
KERNEL vf or_(vf a, vf b) { EACH(vf, _mm512_or_ps(a.v[k], b.v[k])); }
KERNEL vf vmin(vf a, vf b) { EACH(vf, _mm512_min_ps(a.v[k], b.v[k])); }
KERNEL vf vmax(vf a, vf b) { EACH(vf, _mm512_max_ps(a.v[k], b.v[k])); }
KERNEL vi bits(vf a) { EACH(vi, _mm512_castps_si512(a.v[k])); }
KERNEL vf floats(vi a) { EACH(vf, _mm512_castsi512_ps(a.v[k])); }
KERNEL vi iadd(vi a, vi b) { EACH(vi, _mm512_add_epi32(a.v[k], b.v[k])); }
KERNEL vi isub(vi a, vi b) { EACH(vi, _mm512_sub_epi32(a.v[k], b.v[k])); }
KERNEL vi half(vi a) { EACH(vi, _mm512_srai_epi32(a.v[k], 1)); }
KERNEL vi shift23(vi a) { EACH(vi, _mm512_slli_epi32(a.v[k], 23)); }
/// a 2^s for an integer-valued s (exp_split's scale): scalef, exact exponent arithmetic with
/// one rounding into the subnormals.
KERNEL vf scale(vf a, vf s) { EACH(vf, _mm512_scalef_ps(a.v[k], s.v[k])); }
/// 1 + m 2^s.
KERNEL vf exp_plus1(vf m, vf s) { EACH(vf, _mm512_add_ps(_mm512_scalef_ps(m.v[k], s.v[k]), _mm512_set1_ps(1))); }
/// 1 / a to about 1 ulp: the 14-bit estimate and one Newton step.
KERNEL vf recip(vf a) {
    vf r;
    EACH_REGISTER {
        const __m512 e = _mm512_rcp14_ps(a.v[k]);
        r.v[k] = _mm512_fmadd_ps(e, _mm512_fnmadd_ps(a.v[k], e, _mm512_set1_ps(1)), e);
    }
    return r;
}

#else

KERNEL vf splat(float x) { EACH(vf, _mm256_set1_ps(x)); }
KERNEL vi splati(int x) { EACH(vi, _mm256_set1_epi32(x)); }
KERNEL vf load(const float *p) { EACH(vf, _mm256_loadu_ps(p + 8 * k)); }
KERNEL void store(float *p, vf a) { EACH_REGISTER _mm256_storeu_ps(p + 8 * k, a.v[k]); }
KERNEL void stream(float *p, vf a) { EACH_REGISTER _mm256_stream_ps(p + 8 * k, a.v[k]); }
KERNEL vf add(vf a, vf b) { EACH(vf, _mm256_add_ps(a.v[k], b.v[k])); }
KERNEL vf sub(vf a, vf b) { EACH(vf, _mm256_sub_ps(a.v[k], b.v[k])); }
KERNEL vf mul(vf a, vf b) { EACH(vf, _mm256_mul_ps(a.v[k], b.v[k])); }
KERNEL vf dvd(vf a, vf b) { EACH(vf, _mm256_div_ps(a.v[k], b.v[k])); }
KERNEL vf fmadd(vf a, vf b, vf c) { EACH(vf, _mm256_fmadd_ps(a.v[k], b.v[k], c.v[k])); }
KERNEL vf fnma(vf a, vf b, vf c) { EACH(vf, _mm256_fnmadd_ps(a.v[k], b.v[k], c.v[k])); }
KERNEL vf fmsub(vf a, vf b, vf c) { EACH(vf, _mm256_fmsub_ps(a.v[k], b.v[k], c.v[k])); }
KERNEL vf sel(vm mask, vf a, vf b) { EACH(vf, _mm256_blendv_ps(b.v[k], a.v[k], mask.v[k])); }
KERNEL vf keep(vm mask, vf a) { EACH(vf, _mm256_and_ps(mask.v[k], a.v[k])); }
KERNEL vf drop(vm mask, vf a) { EACH(vf, _mm256_andnot_ps(mask.v[k], a.v[k])); }
KERNEL vm lt(vf a, vf b) { EACH(vm, _mm256_cmp_ps(a.v[k], b.v[k], _CMP_LT_OQ)); }
KERNEL vm gt(vf a, vf b) { EACH(vm, _mm256_cmp_ps(a.v[k], b.v[k], _CMP_GT_OQ)); }
KERNEL vm le(vf a, vf b) { EACH(vm, _mm256_cmp_ps(a.v[k], b.v[k], _CMP_LE_OQ)); }
KERNEL vf and_(vf a, vf b) { EACH(vf, _mm256_and_ps(a.v[k], b.v[k])); }
KERNEL vf or_(vf a, vf b) { EACH(vf, _mm256_or_ps(a.v[k], b.v[k])); }
KERNEL vf vmin(vf a, vf b) { EACH(vf, _mm256_min_ps(a.v[k], b.v[k])); }
KERNEL vf vmax(vf a, vf b) { EACH(vf, _mm256_max_ps(a.v[k], b.v[k])); }
KERNEL vi bits(vf a) { EACH(vi, _mm256_castps_si256(a.v[k])); }
KERNEL vf floats(vi a) { EACH(vf, _mm256_castsi256_ps(a.v[k])); }
KERNEL vi iadd(vi a, vi b) { EACH(vi, _mm256_add_epi32(a.v[k], b.v[k])); }
KERNEL vi isub(vi a, vi b) { EACH(vi, _mm256_sub_epi32(a.v[k], b.v[k])); }
KERNEL vi half(vi a) { EACH(vi, _mm256_srai_epi32(a.v[k], 1)); }
KERNEL vi shift23(vi a) { EACH(vi, _mm256_slli_epi32(a.v[k], 23)); }
/// a s for exp_split's power-of-two factor s.
KERNEL vf scale(vf a, vf s) { return mul(a, s); }
/// 1 + m s.
KERNEL vf exp_plus1(vf m, vf s) { return fmadd(m, s, splat(1)); }
/// 1 / a (a division: AVX2's 12-bit estimate would need two Newton steps).
KERNEL vf recip(vf a) { EACH(vf, _mm256_div_ps(_mm256_set1_ps(1), a.v[k])); }

#endif

#if TE_VECTOR_BITS == 512
/// a rounded to the nearest integer (ties to even), as a float.
KERNEL vf vround(vf a) { EACH(vf, _mm512_roundscale_ps(a.v[k], _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)); }
/// a (integer-valued) as int32.
KERNEL vi ints(vf a) { EACH(vi, _mm512_cvtps_epi32(a.v[k])); }
#else
KERNEL vf vround(vf a) { EACH(vf, _mm256_round_ps(a.v[k], _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)); }
KERNEL vi ints(vf a) { EACH(vi, _mm256_cvtps_epi32(a.v[k])); }
#endif

/// Orders the non-temporal stores before what follows.
KERNEL void fence(void) { _mm_sfence(); }

#define C(v) splat((float)(v))
#define CI(v) splati((int)(v))

KERNEL vf vabs(vf x) { return and_(x, floats(CI(0x7FFFFFFF))); }
KERNEL vf pow2i(vi n) { return floats(shift23(iadd(n, CI(127)))); }

#endif
