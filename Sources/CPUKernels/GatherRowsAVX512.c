// The per-row input-sparse product for x86-64 CPUs with AVX-512 (F, BW, VL, DQ): the scheme of
// GatherRowsAVX2.c (eight listed rows per pass over y, two accumulator chains) over 512-bit
// registers, 32 columns per step, and the column tail under a lane mask instead of a scalar
// loop (masked loads do not touch the masked-off elements). Only these functions are compiled
// for AVX-512 (target attributes); KernelDispatch.c checks the CPU.

#include "ISAKernels.h"

#if defined(__x86_64__)

#include <immintrin.h>
#include <string.h>

#define KERNEL static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")))

/// Lanes below `n` (n < 16 for a partial vector).
KERNEL __mmask16 lanes(long n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1); }

/// y[c0..<c1] += sum over q < 8 of a[q] * r[q][c0..<c1].
KERNEL void rows8(float *y, const float *const r[8], const float *a, long c0, long c1) {
    __m512 scale[8];
    for (int q = 0; q < 8; q++) scale[q] = _mm512_set1_ps(a[q]);
    long j = c0;
    for (; j + 32 <= c1; j += 32) {
        // Even rows accumulate onto y, odd rows into a second chain; the two meet at the store.
        __m512 s0 = _mm512_loadu_ps(y + j), s1 = _mm512_loadu_ps(y + j + 16);
        __m512 t0 = _mm512_setzero_ps(), t1 = _mm512_setzero_ps();
#pragma GCC unroll 4
        for (int q = 0; q < 8; q += 2) {
            s0 = _mm512_fmadd_ps(scale[q], _mm512_loadu_ps(r[q] + j), s0);
            s1 = _mm512_fmadd_ps(scale[q], _mm512_loadu_ps(r[q] + j + 16), s1);
            t0 = _mm512_fmadd_ps(scale[q + 1], _mm512_loadu_ps(r[q + 1] + j), t0);
            t1 = _mm512_fmadd_ps(scale[q + 1], _mm512_loadu_ps(r[q + 1] + j + 16), t1);
        }
        _mm512_storeu_ps(y + j, _mm512_add_ps(s0, t0));
        _mm512_storeu_ps(y + j + 16, _mm512_add_ps(s1, t1));
    }
    for (; j < c1; j += 16) {
        const __mmask16 m = lanes(c1 - j);
        __m512 s = _mm512_maskz_loadu_ps(m, y + j), t = _mm512_setzero_ps();
#pragma GCC unroll 4
        for (int q = 0; q < 8; q += 2) {
            s = _mm512_fmadd_ps(scale[q], _mm512_maskz_loadu_ps(m, r[q] + j), s);
            t = _mm512_fmadd_ps(scale[q + 1], _mm512_maskz_loadu_ps(m, r[q + 1] + j), t);
        }
        _mm512_mask_storeu_ps(y + j, m, _mm512_add_ps(s, t));
    }
}

/// y[c0..<c1] += a * r[c0..<c1].
KERNEL void rows1(float *y, const float *r, float a, long c0, long c1) {
    const __m512 av = _mm512_set1_ps(a);
    for (long j = c0; j < c1; j += 16) {
        const __mmask16 m = lanes(c1 - j);
        _mm512_mask_storeu_ps(y + j, m, _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m, r + j), _mm512_maskz_loadu_ps(m, y + j)));
    }
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")))
void te_gather_rows_avx512(const float *w, long ldw, const int *indices, const float *values, long count,
                           float *y, long c0, long c1) {
    memset(y + c0, 0, (size_t)(c1 - c0) * sizeof(float));
    long i = 0;
    for (; i + 8 <= count; i += 8) {
        const float *const r[8] = {
            w + (long)indices[i] * ldw, w + (long)indices[i + 1] * ldw, w + (long)indices[i + 2] * ldw,
            w + (long)indices[i + 3] * ldw, w + (long)indices[i + 4] * ldw, w + (long)indices[i + 5] * ldw,
            w + (long)indices[i + 6] * ldw, w + (long)indices[i + 7] * ldw,
        };
        rows8(y, r, values + i, c0, c1);
    }
    for (; i < count; i++) rows1(y, w + (long)indices[i] * ldw, values[i], c0, c1);
}

#endif
