// The entry points of CPUKernels.h: which variants this CPU runs (checked once), the argument
// rules, and the call into the AVX2 or AVX-512 variant (ISAKernels.h). A family without an
// AVX-512 variant would run its AVX2 one on AVX-512 CPUs; today every family has both.

#include "ISAKernels.h"
#include "../../Shaders/common/tensor_codes.h"

#include <string.h>

#if defined(__x86_64__)

static int detect(int isa) {
    __builtin_cpu_init();   // the checks include the OS's XSAVE support of the registers
    switch (isa) {
    case TE_ISA_PORTABLE: return 1;
    case TE_ISA_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case TE_ISA_AVX512:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("avx512f")
            && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")
            && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("bmi2");
    default: return 0;
    }
}

int te_cpu_isa_supported(int isa) {
    static int cached[3] = {-1, -1, -1};   // benign race: every thread computes the same value
    if (isa < 0 || isa > TE_ISA_AVX512) return 0;
    int v = __atomic_load_n(&cached[isa], __ATOMIC_RELAXED);
    if (v < 0) {
        v = detect(isa) ? 1 : 0;
        __atomic_store_n(&cached[isa], v, __ATOMIC_RELAXED);
    }
    return v;
}

/// The variant to call: 2 (AVX-512), 1 (AVX2) or 0 (none) for a requested `isa`.
static int variant(int isa) {
    if (isa <= TE_ISA_PORTABLE || !te_cpu_isa_supported(isa)) return 0;
    return isa;
}

// The AVX-512 activations that run faster over eight registers in lockstep than over four
// (ActivationsAVX512Wide.c), by pass. Single thread, Zen 5, 2^18 and 2^20 floats, best of three
// alternating runs: forward GELU 1.11-1.15x, GELU_tanh 1.06-1.08x, SiLU 1.10-1.13x, Mish
// 1.10-1.12x, sigmoid 1.03-1.06x, softplus 1.12-1.16x; backward GELU_tanh 1.15x, SiLU
// 1.03-1.08x, Mish 1.18x, sigmoid 1.07-1.11x, softplus 1.02-1.09x. The rest stay on four
// (wider measured 0.92-1.02x: tanh and ELU forward lose 6-8%, GELU's derivative 1-4%).
static const unsigned char wideForward[TE_ACT_COUNT] = {
    [TE_ACT_GELU] = 1, [TE_ACT_GELU_TANH] = 1, [TE_ACT_SILU] = 1, [TE_ACT_MISH] = 1,
    [TE_ACT_SIGMOID] = 1, [TE_ACT_SOFTPLUS] = 1,
};
static const unsigned char wideBackward[TE_ACT_COUNT] = {
    [TE_ACT_GELU_TANH] = 1, [TE_ACT_SILU] = 1, [TE_ACT_MISH] = 1, [TE_ACT_SIGMOID] = 1, [TE_ACT_SOFTPLUS] = 1,
};

static int wide(const unsigned char *table, int code) { return code >= 0 && code < TE_ACT_COUNT && table[code]; }

int te_activation_forward(int isa, int code, float p, const float *x, float *y, long n) {
    switch (variant(isa)) {
    case TE_ISA_AVX512:
        return wide(wideForward, code) ? te_activation_forward_avx512wide(code, p, x, y, n)
                                       : te_activation_forward_avx512(code, p, x, y, n);
    case TE_ISA_AVX2: return te_activation_forward_avx2(code, p, x, y, n);
    default: return 0;
    }
}

int te_activation_backward(int isa, int code, float p, const float *x, const float *g, float *out, long n) {
    switch (variant(isa)) {
    case TE_ISA_AVX512:
        return wide(wideBackward, code) ? te_activation_backward_avx512wide(code, p, x, g, out, n)
                                        : te_activation_backward_avx512(code, p, x, g, out, n);
    case TE_ISA_AVX2: return te_activation_backward_avx2(code, p, x, g, out, n);
    default: return 0;
    }
}

int te_activation_epilogue(int isa, int code, float p, const float *bias, float *pre, float *row, long n) {
    switch (variant(isa)) {
    case TE_ISA_AVX512:
        return wide(wideForward, code) ? te_activation_epilogue_avx512wide(code, p, bias, pre, row, n)
                                       : te_activation_epilogue_avx512(code, p, bias, pre, row, n);
    case TE_ISA_AVX2: return te_activation_epilogue_avx2(code, p, bias, pre, row, n);
    default: return 0;
    }
}

int te_gathered_gemm(int isa, const float *w, long ldw, const int *indices, long count, const float *xs, long ldx,
                     long batch, float *y, long ldy, long c0, long c1) {
    const int v = variant(isa);
    if (!v) return 0;
    if (c1 <= c0 || batch <= 0) return 1;
    if (count <= 0) {
        for (long b = 0; b < batch; b++) memset(y + b * ldy + c0, 0, (size_t)(c1 - c0) * sizeof(float));
        return 1;
    }
    return v == TE_ISA_AVX512 ? te_gathered_gemm_avx512(w, ldw, indices, count, xs, ldx, batch, y, ldy, c0, c1)
                              : te_gathered_gemm_avx2(w, ldw, indices, count, xs, ldx, batch, y, ldy, c0, c1);
}

int te_sgemm(int isa, int transA, int transB, long m, long n, long k, const float *a, long lda, const float *b,
             long ldb, float *c, long ldc, long row0, long row1) {
    const int v = variant(isa);
    if (!v || m < 0 || n < 0 || k < 0 || row0 < 0 || row0 > row1 || row1 > m || ldc < n) return 0;
    if (k > 0 && (!a || !b || lda < (transA ? m : k) || ldb < (transB ? k : n) || lda < 1 || ldb < 1)) return 0;
    if (row1 == row0 || n == 0) return 1;
    if (k == 0) {
        for (long i = row0; i < row1; i++) memset(c + i * ldc, 0, (size_t)n * sizeof(float));
        return 1;
    }
    return v == TE_ISA_AVX512 ? te_sgemm_avx512(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, row0, row1)
                              : te_sgemm_avx2(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, row0, row1);
}

int te_gather_rows(int isa, const float *w, long ldw, const int *indices, const float *values, long count,
                   float *y, long c0, long c1) {
    const int v = variant(isa);
    if (!v) return 0;
    if (c1 <= c0) return 1;
    if (count < 0) count = 0;
    if (v == TE_ISA_AVX512) te_gather_rows_avx512(w, ldw, indices, values, count, y, c0, c1);
    else te_gather_rows_avx2(w, ldw, indices, values, count, y, c0, c1);
    return 1;
}

enum { RUN = 32 };

int te_fewbit_encode(int isa, const float *x, const float *bias, long columns, long column, const float *borders,
                     int borderCount, int bits, unsigned int *words, long start, long count) {
    const int v = variant(isa);
    if (!v || bits < 1 || bits > 8 || borderCount < 0 || borderCount >= (1 << bits) || start % RUN != 0
        || (bias && (columns <= 0 || column < 0 || column >= columns))) return 0;
    if (count <= 0) return 1;
    if (v == TE_ISA_AVX512) te_fewbit_encode_avx512(x, bias, columns, column, borders, borderCount, bits, words, start, count);
    else te_fewbit_encode_avx2(x, bias, columns, column, borders, borderCount, bits, words, start, count);
    return 1;
}

int te_fewbit_decode(int isa, const float *levels, int bits, const unsigned int *words, long start,
                     const float *gradOut, float *gradIn, long count) {
    const int v = variant(isa);
    if (!v || bits < 1 || bits > 8 || start % RUN != 0) return 0;
    if (count <= 0) return 1;
    if (v == TE_ISA_AVX512) te_fewbit_decode_avx512(levels, bits, words, start, gradOut, gradIn, count);
    else te_fewbit_decode_avx2(levels, bits, words, start, gradOut, gradIn, count);
    return 1;
}

#else

int te_cpu_isa_supported(int isa) { return isa == TE_ISA_PORTABLE; }

int te_activation_forward(int isa, int code, float p, const float *x, float *y, long n) {
    (void)isa; (void)code; (void)p; (void)x; (void)y; (void)n;
    return 0;
}

int te_activation_backward(int isa, int code, float p, const float *x, const float *g, float *out, long n) {
    (void)isa; (void)code; (void)p; (void)x; (void)g; (void)out; (void)n;
    return 0;
}

int te_activation_epilogue(int isa, int code, float p, const float *bias, float *pre, float *row, long n) {
    (void)isa; (void)code; (void)p; (void)bias; (void)pre; (void)row; (void)n;
    return 0;
}

int te_gathered_gemm(int isa, const float *w, long ldw, const int *indices, long count, const float *xs, long ldx,
                     long batch, float *y, long ldy, long c0, long c1) {
    (void)isa; (void)w; (void)ldw; (void)indices; (void)count; (void)xs; (void)ldx;
    (void)batch; (void)y; (void)ldy; (void)c0; (void)c1;
    return 0;
}

int te_sgemm(int isa, int transA, int transB, long m, long n, long k, const float *a, long lda, const float *b,
             long ldb, float *c, long ldc, long row0, long row1) {
    (void)isa; (void)transA; (void)transB; (void)m; (void)n; (void)k; (void)a; (void)lda; (void)b; (void)ldb;
    (void)c; (void)ldc; (void)row0; (void)row1;
    return 0;
}

int te_gather_rows(int isa, const float *w, long ldw, const int *indices, const float *values, long count,
                   float *y, long c0, long c1) {
    (void)isa; (void)w; (void)ldw; (void)indices; (void)values; (void)count; (void)y; (void)c0; (void)c1;
    return 0;
}

int te_fewbit_encode(int isa, const float *x, const float *bias, long columns, long column, const float *borders,
                     int borderCount, int bits, unsigned int *words, long start, long count) {
    (void)isa; (void)x; (void)bias; (void)columns; (void)column; (void)borders; (void)borderCount; (void)bits;
    (void)words; (void)start; (void)count;
    return 0;
}

int te_fewbit_decode(int isa, const float *levels, int bits, const unsigned int *words, long start,
                     const float *gradOut, float *gradIn, long count) {
    (void)isa; (void)levels; (void)bits; (void)words; (void)start; (void)gradOut; (void)gradIn; (void)count;
    return 0;
}

#endif
