// The union-over-batch sparse product for x86-64 CPUs with AVX2 and FMA: a small GEMM whose
// inner dimension runs over a list of weight rows (the channels that survive in some batch
// row), y[b, c] = sum_i xs[b, i] * w[indices[i], c].
//
// Blocking, as in a GEMM: for each block of NC columns and each chunk of KC listed rows, the
// listed rows' slices are copied into a contiguous panel (long runs from memory, with a
// prefetch a few rows ahead), which then stays in the L2 cache while every batch row uses it
// (each 16-column slice of it in L1 across the batch tiles); a 6 x 16 register tile of y accumulates over the chunk with two loads, six broadcasts and
// twelve fused multiply-adds per listed row. Only these functions are compiled for AVX2 +
// FMA (target attributes); KernelDispatch.c checks the CPU.

#include "ISAKernels.h"

#if defined(__x86_64__)

#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#define KERNEL static inline __attribute__((always_inline, target("avx2,fma")))

enum {
    MR = 6,     // batch rows per register tile
    NR = 16,    // columns per register tile (two AVX registers)
    NC = 256,   // columns per panel
    KC = 256,   // listed rows per panel: KC * NC floats = 256 KiB, half the L2 of a Zen 3 core
};

/// Lanes < n set, for a masked tail of fewer than 8 columns.
KERNEL __m256i lanes_below(long n) {
    const __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), index);
}

/// y[0..<rows, 0..<NR] (=|+=) xs[0..<rows, 0..<depth] * panel[0..<depth, 0..<NR] for
/// rows <= MR; `panel` rows are `ldp` floats apart, zero-padded to whole tiles. Only the
/// first `width` columns are stored.
KERNEL void tile(int rows, long depth, const float *xs, long ldx, const float *panel, long ldp,
                 float *y, long ldy, long width, int accumulate) {
    __m256 acc[MR][2];
    for (int b = 0; b < MR; b++) acc[b][0] = acc[b][1] = _mm256_setzero_ps();
    for (long i = 0; i < depth; i++) {
        const __m256 w0 = _mm256_loadu_ps(panel + i * ldp);
        const __m256 w1 = _mm256_loadu_ps(panel + i * ldp + 8);
        for (int b = 0; b < rows; b++) {
            const __m256 a = _mm256_broadcast_ss(xs + b * ldx + i);
            acc[b][0] = _mm256_fmadd_ps(a, w0, acc[b][0]);
            acc[b][1] = _mm256_fmadd_ps(a, w1, acc[b][1]);
        }
    }
    const __m256i m0 = lanes_below(width), m1 = lanes_below(width - 8);
    for (int b = 0; b < rows; b++) {
        float *out = y + b * ldy;
        if (width == NR) {
            if (accumulate) {
                acc[b][0] = _mm256_add_ps(acc[b][0], _mm256_loadu_ps(out));
                acc[b][1] = _mm256_add_ps(acc[b][1], _mm256_loadu_ps(out + 8));
            }
            _mm256_storeu_ps(out, acc[b][0]);
            _mm256_storeu_ps(out + 8, acc[b][1]);
        } else {
            if (accumulate) {
                acc[b][0] = _mm256_add_ps(acc[b][0], _mm256_maskload_ps(out, m0));
                acc[b][1] = _mm256_add_ps(acc[b][1], _mm256_maskload_ps(out + 8, m1));
            }
            _mm256_maskstore_ps(out, m0, acc[b][0]);
            _mm256_maskstore_ps(out + 8, m1, acc[b][1]);
        }
    }
}

/// One tile with the row count as a constant, so the accumulators live in registers.
__attribute__((target("avx2,fma")))
static void tile_rows(int rows, long depth, const float *xs, long ldx, const float *panel, long ldp,
                      float *y, long ldy, long width, int accumulate) {
    switch (rows) {
    case 6: tile(6, depth, xs, ldx, panel, ldp, y, ldy, width, accumulate); break;
    case 5: tile(5, depth, xs, ldx, panel, ldp, y, ldy, width, accumulate); break;
    case 4: tile(4, depth, xs, ldx, panel, ldp, y, ldy, width, accumulate); break;
    case 3: tile(3, depth, xs, ldx, panel, ldp, y, ldy, width, accumulate); break;
    case 2: tile(2, depth, xs, ldx, panel, ldp, y, ldy, width, accumulate); break;
    default: tile(1, depth, xs, ldx, panel, ldp, y, ldy, width, accumulate); break;
    }
}

/// panel[i, 0..<width] = w[indices[i], c0..<c0+width], zero-padded to `ldp` columns.
__attribute__((target("avx2,fma")))
static void pack(const float *w, long ldw, const int *indices, long depth, long c0, long width,
                 float *panel, long ldp) {
    const long ahead = 4;
    for (long i = 0; i < depth; i++) {
        if (i + ahead < depth) {
            const char *next = (const char *)(w + (long)indices[i + ahead] * ldw + c0);
            for (long byte = 0; byte < width * 4; byte += 64) _mm_prefetch(next + byte, _MM_HINT_T0);
        }
        memcpy(panel + i * ldp, w + (long)indices[i] * ldw + c0, (size_t)width * sizeof(float));
        if (width < ldp) memset(panel + i * ldp + width, 0, (size_t)(ldp - width) * sizeof(float));
    }
}

int te_gathered_gemm_avx2(const float *w, long ldw, const int *indices, long count, const float *xs, long ldx,
                          long batch, float *y, long ldy, long c0, long c1) {
    float *panel = aligned_alloc(64, (size_t)KC * NC * sizeof(float));
    if (!panel) return 0;
    for (long n0 = c0; n0 < c1; n0 += NC) {
        const long width = c1 - n0 < NC ? c1 - n0 : NC;
        const long ldp = (width + NR - 1) / NR * NR;
        for (long k0 = 0; k0 < count; k0 += KC) {
            const long depth = count - k0 < KC ? count - k0 : KC;
            pack(w, ldw, indices + k0, depth, n0, width, panel, ldp);
            // One 16-column slice of the panel (16 KiB) stays in L1 while every batch tile uses it.
            for (long j = 0; j < width; j += NR) {
                const long tileWidth = width - j < NR ? width - j : NR;
                for (long b0 = 0; b0 < batch; b0 += MR) {
                    const int rows = (int)(batch - b0 < MR ? batch - b0 : MR);
                    tile_rows(rows, depth, xs + b0 * ldx + k0, ldx, panel + j, ldp,
                              y + b0 * ldy + n0 + j, ldy, tileWidth, k0 > 0);
                }
            }
        }
    }
    free(panel);
    return 1;
}

#endif
