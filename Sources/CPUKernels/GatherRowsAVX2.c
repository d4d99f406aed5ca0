// The per-row input-sparse product for x86-64 CPUs with AVX2 and FMA: one input row's
// surviving channels select weight rows, and y[c] = sum_i values[i] * w[indices[i], c].
//
// Eight listed rows are applied per pass over y, so y (L1/L2 resident) is read and written once
// per eight weight rows while the eight rows stream from memory as long sequential runs (whole
// rows: the hardware prefetchers follow eight streams well; a software prefetch or shorter
// column chunks measured slower). Two accumulator chains per 16 columns keep the FMA latency
// hidden. Only these functions are compiled for AVX2 + FMA (target attributes);
// KernelDispatch.c checks the CPU.

#include "ISAKernels.h"

#if defined(__x86_64__)

#include <immintrin.h>
#include <string.h>

#define KERNEL static inline __attribute__((always_inline, target("avx2,fma")))

/// y[c0..<c1] += sum over q < 8 of a[q] * r[q][c0..<c1].
KERNEL void rows8(float *y, const float *const r[8], const float *a, long c0, long c1) {
    __m256 scale[8];
    for (int q = 0; q < 8; q++) scale[q] = _mm256_set1_ps(a[q]);
    long j = c0;
    for (; j + 16 <= c1; j += 16) {
        // Even rows accumulate onto y, odd rows into a second chain; the two meet at the store.
        __m256 s0 = _mm256_loadu_ps(y + j), s1 = _mm256_loadu_ps(y + j + 8);
        __m256 t0 = _mm256_setzero_ps(), t1 = _mm256_setzero_ps();
#pragma GCC unroll 4
        for (int q = 0; q < 8; q += 2) {
            s0 = _mm256_fmadd_ps(scale[q], _mm256_loadu_ps(r[q] + j), s0);
            s1 = _mm256_fmadd_ps(scale[q], _mm256_loadu_ps(r[q] + j + 8), s1);
            t0 = _mm256_fmadd_ps(scale[q + 1], _mm256_loadu_ps(r[q + 1] + j), t0);
            t1 = _mm256_fmadd_ps(scale[q + 1], _mm256_loadu_ps(r[q + 1] + j + 8), t1);
        }
        _mm256_storeu_ps(y + j, _mm256_add_ps(s0, t0));
        _mm256_storeu_ps(y + j + 8, _mm256_add_ps(s1, t1));
    }
    for (; j < c1; j++) {
        float sum = y[j];
        for (int q = 0; q < 8; q++) sum += a[q] * r[q][j];
        y[j] = sum;
    }
}

/// y[c0..<c1] += a * r[c0..<c1].
KERNEL void rows1(float *y, const float *r, float a, long c0, long c1) {
    const __m256 av = _mm256_set1_ps(a);
    long j = c0;
    for (; j + 8 <= c1; j += 8) _mm256_storeu_ps(y + j, _mm256_fmadd_ps(av, _mm256_loadu_ps(r + j), _mm256_loadu_ps(y + j)));
    for (; j < c1; j++) y[j] += a * r[j];
}

__attribute__((target("avx2,fma")))
static void gather_rows(const float *w, long ldw, const int *indices, const float *values, long count,
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

void te_gather_rows_avx2(const float *w, long ldw, const int *indices, const float *values, long count,
                         float *y, long c0, long c1) {
    gather_rows(w, ldw, indices, values, count, y, c0, c1);
}

#endif
