// The packed single-precision GEMM (internal), compiled twice: GemmAVX512.c (TE_GEMM_BITS 512:
// a 12 x 32 register tile, 24 zmm accumulators) and GemmAVX2.c (256: a 6 x 16 tile, 12 ymm
// accumulators). The includer defines TE_GEMM_BITS and TE_GEMM_ENTRY(name) first.
//
// BLIS-style blocking: a KC x NC block of op(B) is packed into NR-column micro-panels (each
// KC x NR, contiguous), an MC x KC block of op(A) into MR-row micro-panels (KC x MR); the
// micro-kernel multiplies one A micro-panel by one B micro-panel into an MR x NR tile of C held
// in registers. The B micro-panel (KC x NR floats: 32 KiB at KC = 256, NR = 32) and one A
// micro-panel (12 KiB) fit Zen 5's 48 KiB L1; the A block (MC x KC: 240 KiB) stays in its 1 MiB
// L2 while the B micro-panels pass. The tile's rows of C are prefetched before the depth loop
// (without it, n = 1024 and 2048 ran at 150 instead of 190 GFLOP/s: rows 4 KiB apart).
// Packing pads partial panels with zeros, so the micro-kernel always runs whole tiles; partial
// tiles of C are written through a small buffer.
// Transposed operands are read transposed while packing, never copied whole.

#include <immintrin.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if TE_GEMM_BITS == 512
#define TARGET "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma"
typedef __m512 vreg;
enum { L = 16, MR = 12, NV = 2 };
#define VZERO() _mm512_setzero_ps()
#define VLOAD(p) _mm512_load_ps(p)
#define VLOADU(p) _mm512_loadu_ps(p)
#define VSTOREU(p, v) _mm512_storeu_ps(p, v)
#define VSET1(x) _mm512_set1_ps(x)
#define VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define VADD(a, b) _mm512_add_ps(a, b)
#elif TE_GEMM_BITS == 256
#define TARGET "avx2,fma"
typedef __m256 vreg;
enum { L = 8, MR = 6, NV = 2 };
#define VZERO() _mm256_setzero_ps()
#define VLOAD(p) _mm256_load_ps(p)
#define VLOADU(p) _mm256_loadu_ps(p)
#define VSTOREU(p, v) _mm256_storeu_ps(p, v)
#define VSET1(x) _mm256_set1_ps(x)
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define VADD(a, b) _mm256_add_ps(a, b)
#else
#error "define TE_GEMM_BITS as 256 or 512 before including GemmBody.h"
#endif

#define KERNEL static inline __attribute__((always_inline, target(TARGET)))
// Fully unrolled register-tile loops, so the accumulators stay in registers.
#define UNROLL _Pragma("GCC unroll 32")

enum {
    NR = L * NV,                    // columns per register tile
    KC = 256,                       // depth of a packed block
    MC = 240,                       // rows of a packed A block (a multiple of both MRs)
    NC = 2048,                      // columns of a packed B block (KC x NC: 2 MiB, L3)
};

/// The per-thread packing buffers (A block then B block, 64-byte aligned), made on a thread's
/// first product and freed when the thread exits.
typedef struct { float *a, *b; } packing;

static pthread_key_t packing_key;
static pthread_once_t packing_once = PTHREAD_ONCE_INIT;
static void packing_free(void *p) { free(p); }
static void packing_key_make(void) { pthread_key_create(&packing_key, packing_free); }

static int packing_get(packing *out) {
    pthread_once(&packing_once, packing_key_make);
    float *base = pthread_getspecific(packing_key);
    const size_t aFloats = (size_t)MC * KC, bFloats = (size_t)KC * NC;
    if (!base) {
        base = aligned_alloc(64, (aFloats + bFloats) * sizeof(float));
        if (!base) return 0;
        if (pthread_setspecific(packing_key, base) != 0) {
            free(base);
            return 0;
        }
    }
    out->a = base;
    out->b = base + aFloats;
    return 1;
}

/// Packs an operand seen as [panel index, k] into micro-panels `W` wide:
/// dst[i * kc + p * W + r] = element (start + i + r, p0 + p), zero past `count`. Where
/// `contiguous`, that element is src[(p0 + p) * ld + start + i + r] (a panel's W elements lie
/// side by side: A transposed, B as stored); otherwise src[(start + i + r) * ld + p0 + p].
/// Inlined with W constant (MR for A, NR for B).
__attribute__((always_inline, target(TARGET)))
static inline void pack_panels(int contiguous, const float *src, long ld, long start, long count, long p0, long kc,
                               const long W, float *dst) {
    for (long i = 0; i < count; i += W) {
        const long width = count - i < W ? count - i : W;
        float *out = dst + i * kc;
        if (contiguous) {
            for (long p = 0; p < kc; p++) {
                memcpy(out + p * W, src + (p0 + p) * ld + start + i, (size_t)width * sizeof(float));
                if (width < W) memset(out + p * W + width, 0, (size_t)(W - width) * sizeof(float));
            }
        } else {
            for (long r = 0; r < width; r++) {
                const float *row = src + (start + i + r) * ld + p0;
                for (long p = 0; p < kc; p++) out[p * W + r] = row[p];
            }
            for (long r = width; r < W; r++)
                for (long p = 0; p < kc; p++) out[p * W + r] = 0;
        }
    }
}

/// ap[ir * kc + p * MR + r] = op(A)[i0 + ir + r, p0 + p], zero past `mc` rows.
__attribute__((target(TARGET)))
static void pack_a(int transA, const float *a, long lda, long i0, long mc, long p0, long kc, float *ap) {
    pack_panels(transA, a, lda, i0, mc, p0, kc, MR, ap);
}

/// bp[jr * kc + p * NR + j] = op(B)[p0 + p, j0 + jr + j], zero past `nc` columns.
__attribute__((target(TARGET)))
static void pack_b(int transB, const float *b, long ldb, long p0, long kc, long j0, long nc, float *bp) {
    pack_panels(!transB, b, ldb, j0, nc, p0, kc, NR, bp);
}

/// C[0..<rows, 0..<cols] (=|+=) the MR x NR product of one A and one B micro-panel.
KERNEL void micro(long kc, const float *ap, const float *bp, float *c, long ldc, long rows, long cols,
                  int accumulate) {
    vreg acc[MR][NV];
    UNROLL for (int r = 0; r < MR; r++) {
        _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + r * ldc + NR - 1), _MM_HINT_T0);
        UNROLL for (int v = 0; v < NV; v++) acc[r][v] = VZERO();
    }
    for (long p = 0; p < kc; p++) {
        vreg bv[NV];
        UNROLL for (int v = 0; v < NV; v++) bv[v] = VLOAD(bp + p * NR + v * L);
        UNROLL for (int r = 0; r < MR; r++) {
            const vreg av = VSET1(ap[p * MR + r]);
            UNROLL for (int v = 0; v < NV; v++) acc[r][v] = VFMA(av, bv[v], acc[r][v]);
        }
    }
    if (rows == MR && cols == NR) {
        UNROLL for (int r = 0; r < MR; r++)
            UNROLL for (int v = 0; v < NV; v++) {
                float *out = c + r * ldc + v * L;
                VSTOREU(out, accumulate ? VADD(acc[r][v], VLOADU(out)) : acc[r][v]);
            }
        return;
    }
    float tile[MR * NR] __attribute__((aligned(64)));
    UNROLL for (int r = 0; r < MR; r++)
        UNROLL for (int v = 0; v < NV; v++) VSTOREU(tile + r * NR + v * L, acc[r][v]);
    for (long r = 0; r < rows; r++)
        for (long j = 0; j < cols; j++) c[r * ldc + j] = (accumulate ? c[r * ldc + j] : 0) + tile[r * NR + j];
}

__attribute__((target(TARGET)))
static void block(long kc, long mc, long nc, const float *ap, const float *bp, float *c, long ldc, int accumulate) {
    for (long jr = 0; jr < nc; jr += NR) {
        const long cols = nc - jr < NR ? nc - jr : NR;
        for (long ir = 0; ir < mc; ir += MR) {
            const long rows = mc - ir < MR ? mc - ir : MR;
            micro(kc, ap + ir * kc, bp + jr * kc, c + ir * ldc + jr, ldc, rows, cols, accumulate);
        }
    }
}

int TE_GEMM_ENTRY(te_sgemm)(int transA, int transB, long m, long n, long k, const float *a, long lda,
                            const float *b, long ldb, float *c, long ldc, long row0, long row1) {
    (void)m;
    packing buffers;
    if (!packing_get(&buffers)) return 0;
    for (long jc = 0; jc < n; jc += NC) {
        const long nc = n - jc < NC ? n - jc : NC;
        for (long pc = 0; pc < k; pc += KC) {
            const long kc = k - pc < KC ? k - pc : KC;
            pack_b(transB, b, ldb, pc, kc, jc, nc, buffers.b);
            for (long ic = row0; ic < row1; ic += MC) {
                const long mc = row1 - ic < MC ? row1 - ic : MC;
                pack_a(transA, a, lda, ic, mc, pc, kc, buffers.a);
                block(kc, mc, nc, buffers.a, buffers.b, c + ic * ldc + jc, ldc, pc > 0);
            }
        }
    }
    return 1;
}

#undef TARGET
#undef KERNEL
#undef UNROLL
