// The union-over-batch sparse product for x86-64 CPUs with AVX-512 (F, BW, VL, DQ): the
// blocking of GatheredGemmAVX2.c (listed weight rows copied into an L2-resident panel, a
// register tile of y accumulating over it) with an 8 x 32 tile: sixteen 512-bit accumulators,
// two panel loads and eight broadcasts per listed row (32 registers leave room), and partial
// tiles stored under lane masks. Only these functions are compiled for AVX-512 (target
// attributes); KernelDispatch.c checks the CPU.

#include "ISAKernels.h"

#if defined(__x86_64__)

#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#define TARGET "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma"
#define KERNEL static inline __attribute__((always_inline, target(TARGET)))

enum {
    MR = 8,     // batch rows per register tile
    NR = 32,    // columns per register tile (two 512-bit registers)
    NC = 256,   // columns per panel
    KC = 256,   // listed rows per panel: KC * NC floats = 256 KiB of the L2
};

/// Lanes below `n` (n < 16 for a partial vector; n <= 0: none).
KERNEL __mmask16 lanes(long n) {
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

/// y[0..<rows, 0..<width] (=|+=) xs[0..<rows, 0..<depth] * panel[0..<depth, 0..<NR] for
/// rows <= MR; `panel` rows are `ldp` floats apart, zero-padded to whole tiles.
KERNEL void tile(int rows, long depth, const float *xs, long ldx, const float *panel, long ldp,
                 float *y, long ldy, long width, int accumulate) {
    __m512 acc[MR][2];
    for (int b = 0; b < MR; b++) acc[b][0] = acc[b][1] = _mm512_setzero_ps();
    for (long i = 0; i < depth; i++) {
        const __m512 w0 = _mm512_loadu_ps(panel + i * ldp);
        const __m512 w1 = _mm512_loadu_ps(panel + i * ldp + 16);
        for (int b = 0; b < rows; b++) {
            const __m512 a = _mm512_set1_ps(xs[b * ldx + i]);
            acc[b][0] = _mm512_fmadd_ps(a, w0, acc[b][0]);
            acc[b][1] = _mm512_fmadd_ps(a, w1, acc[b][1]);
        }
    }
    const __mmask16 m0 = lanes(width), m1 = lanes(width - 16);
    for (int b = 0; b < rows; b++) {
        float *out = y + b * ldy;
        if (accumulate) {
            acc[b][0] = _mm512_add_ps(acc[b][0], _mm512_maskz_loadu_ps(m0, out));
            acc[b][1] = _mm512_add_ps(acc[b][1], _mm512_maskz_loadu_ps(m1, out + 16));
        }
        _mm512_mask_storeu_ps(out, m0, acc[b][0]);
        _mm512_mask_storeu_ps(out + 16, m1, acc[b][1]);
    }
}

/// One tile with the row count as a constant, so the accumulators live in registers.
__attribute__((target(TARGET)))
static void tile_rows(int rows, long depth, const float *xs, long ldx, const float *panel, long ldp,
                      float *y, long ldy, long width, int accumulate) {
    switch (rows) {
    case 8: tile(8, depth, xs, ldx, panel, ldp, y, ldy, width, accumulate); break;
    case 7: tile(7, depth, xs, ldx, panel, ldp, y, ldy, width, accumulate); break;
    case 6: tile(6, depth, xs, ldx, panel, ldp, y, ldy, width, accumulate); break;
    case 5: tile(5, depth, xs, ldx, panel, ldp, y, ldy, width, accumulate); break;
    case 4: tile(4, depth, xs, ldx, panel, ldp, y, ldy, width, accumulate); break;
    case 3: tile(3, depth, xs, ldx, panel, ldp, y, ldy, width, accumulate); break;
    case 2: tile(2, depth, xs, ldx, panel, ldp, y, ldy, width, accumulate); break;
    default: tile(1, depth, xs, ldx, panel, ldp, y, ldy, width, accumulate); break;
    }
}

/// panel[i, 0..<width] = w[indices[i], c0..<c0+width], zero-padded to `ldp` columns.
__attribute__((target(TARGET)))
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

int te_gathered_gemm_avx512(const float *w, long ldw, const int *indices, long count, const float *xs, long ldx,
                            long batch, float *y, long ldy, long c0, long c1) {
    float *panel = aligned_alloc(64, (size_t)KC * NC * sizeof(float));
    if (!panel) return 0;
    for (long n0 = c0; n0 < c1; n0 += NC) {
        const long width = c1 - n0 < NC ? c1 - n0 : NC;
        const long ldp = (width + NR - 1) / NR * NR;
        for (long k0 = 0; k0 < count; k0 += KC) {
            const long depth = count - k0 < KC ? count - k0 : KC;
            pack(w, ldw, indices + k0, depth, n0, width, panel, ldp);
            // One 32-column slice of the panel (32 KiB) stays in L1 while every batch tile uses it.
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
