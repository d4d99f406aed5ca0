// The per-ISA variants behind CPUKernels.h's entry points (internal). KernelDispatch.c checks
// the CPU and the arguments, then calls one of these; each assumes its ISA is present.

#ifndef TE_ISA_KERNELS_H
#define TE_ISA_KERNELS_H

#include "CPUKernels.h"

#if defined(__x86_64__)

#define TE_DECLARE_ACTIVATIONS(suffix)                                                                       \
    int te_activation_forward_##suffix(int code, float p, const float *x, float *y, long n);                \
    int te_activation_backward_##suffix(int code, float p, const float *x, const float *g, float *out,      \
                                        long n);                                                             \
    int te_activation_epilogue_##suffix(int code, float p, const float *bias, float *pre, float *row,       \
                                        long n);

#define TE_DECLARE_ISA(suffix)                                                                               \
    TE_DECLARE_ACTIVATIONS(suffix)                                                                           \
    void te_fewbit_encode_##suffix(const float *x, const float *bias, long columns, long column,            \
                                   const float *borders, int count, int bits, unsigned int *words,          \
                                   long start, long n);                                                      \
    void te_fewbit_decode_##suffix(const float *levels, int bits, const unsigned int *words, long start,    \
                                   const float *gradOut, float *gradIn, long n);                            \
    void te_gather_rows_##suffix(const float *w, long ldw, const int *indices, const float *values,         \
                                 long count, float *y, long c0, long c1);                                    \
    int te_gathered_gemm_##suffix(const float *w, long ldw, const int *indices, long count, const float *xs, \
                                  long ldx, long batch, float *y, long ldy, long c0, long c1);                 \
    int te_sgemm_##suffix(int transA, int transB, long m, long n, long k, const float *a, long lda,          \
                          const float *b, long ldb, float *c, long ldc, long row0, long row1);

TE_DECLARE_ISA(avx2)
TE_DECLARE_ISA(avx512)
/// The activations again over eight AVX-512 registers in lockstep (ActivationsAVX512Wide.c).
TE_DECLARE_ACTIVATIONS(avx512wide)

/// The attention forward block on 16 lanes (AttentionAVX512.c; the AVX2 one is AttentionAVX2.c's).
void te_attention_forward_block_avx512(const te_attention_problem *p, long head, long first_query, float *out,
                                       float *lse, float *scratch);

#endif

#endif
