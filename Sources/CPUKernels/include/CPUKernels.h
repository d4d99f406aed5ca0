#ifndef TENSORENGINE_CPUKERNELS_H
#define TENSORENGINE_CPUKERNELS_H

/// Activation loops, few-bit codes and the gather kernels of the sparse product, in C, in two
/// x86-64 variants compiled by per-function target attributes (no -march flags): AVX2 + FMA
/// and AVX-512 (F, BW, VL, DQ). The caller names the variant (`isa`, one of TE_ISA_*; Swift's
/// `CPUISA` picks one at run time, TENSOR_CPU_ISA may force it). Each entry point returns 1
/// when it did the work, 0 when `isa` is TE_ISA_PORTABLE, the CPU (or the architecture) cannot
/// run `isa`, or the arguments are outside its rules: the caller then runs its portable loop.
/// `code` is `Activation.kernelCode`; `p` its parameter (slope or alpha).

#ifdef __cplusplus
extern "C" {
#endif

/// The kernel variants, in increasing order of capability.
enum {
    TE_ISA_PORTABLE = 0,   ///< no C kernel: the caller's portable Swift loops
    TE_ISA_AVX2 = 1,       ///< AVX2 + FMA, 256-bit registers
    TE_ISA_AVX512 = 2,     ///< AVX-512 F + BW + VL + DQ (and BMI2), 512-bit registers
};

/// 1 if this CPU and OS run the kernels of `isa` (TE_ISA_PORTABLE: always), else 0. Checked once.
int te_cpu_isa_supported(int isa);

/// y[i] = f(x[i]) for i < n.
int te_activation_forward(int isa, int code, float p, const float *x, float *y, long n);

/// out[i] = g[i] * f'(x[i]) for i < n.
int te_activation_backward(int isa, int code, float p, const float *x, const float *g, float *out, long n);

/// One matmul epilogue row: v = row + bias (bias may be NULL), pre = v (pre may be NULL), row = f(v).
int te_activation_epilogue(int isa, int code, float p, const float *bias, float *pre, float *row, long n);

/// The union-over-batch sparse product (GatheredGemm*.c): for b < batch and c0 <= c < c1,
/// y[b * ldy + c] = sum over i < count of xs[b * ldx + i] * w[indices[i] * ldw + c].
/// Returns 0 (y untouched) when `isa` cannot run or the panel cannot be allocated.
int te_gathered_gemm(int isa, const float *w, long ldw, const int *indices, long count, const float *xs, long ldx,
                     long batch, float *y, long ldy, long c0, long c1);

/// The packed dense product (GemmAVX512.c, GemmAVX2.c over GemmBody.h), rows row0..<row1 of
/// C[m, n] = op(A) op(B), row-major: op(A)[i, p] is a[i * lda + p], or a[p * lda + i] when
/// `transA`; op(B)[p, j] is b[p * ldb + j], or b[j * ldb + p] when `transB`; C rows are `ldc`
/// floats apart and are overwritten (k = 0: zeros). Rows of C are independent, so threads may
/// split row0..<row1 between them. Returns 0 (C untouched) when `isa` cannot run, for extents
/// or leading dimensions outside those rules, or when the per-thread packing buffers (about
/// 2.3 MiB, kept until the thread exits) cannot be allocated.
int te_sgemm(int isa, int transA, int transB, long m, long n, long k, const float *a, long lda, const float *b,
             long ldb, float *c, long ldc, long row0, long row1);

/// The per-row sparse product (GatherRows*.c): for c0 <= c < c1,
/// y[c] = sum over i < count of values[i] * w[indices[i] * ldw + c] (y overwritten there).
int te_gather_rows(int isa, const float *w, long ldw, const int *indices, const float *values, long count,
                   float *y, long c0, long c1);

/// Few-bit codes (FewBit*.c; layout as TensorCore's FewBitCodes): for i < count, the code of
/// z = x[i] + (bias ? bias[(column + i) % columns] : 0), the number of the `borderCount` ascending
/// borders below z (NaN: 0), goes to stream position start + i of `words` (start a multiple of 32;
/// every word from start / 32 * bits on that the codes touch is overwritten).
/// Returns 0 (nothing written) for arguments outside those rules.
int te_fewbit_encode(int isa, const float *x, const float *bias, long columns, long column, const float *borders,
                     int borderCount, int bits, unsigned int *words, long start, long count);

/// gradIn[i] = gradOut[i] * levels[code at stream position start + i] for i < count (start a
/// multiple of 32; `levels` holds 2^bits values).
int te_fewbit_decode(int isa, const float *levels, int bits, const unsigned int *words, long start,
                     const float *gradOut, float *gradIn, long count);

/// Mesa's 8-bit codes of one row of `columns` floats (GroupQuantize.c; TensorCore's
/// GroupQuantization): per group of `group_size` (the last may be shorter), scales[g] =
/// max|x| * factor and codes = roundEven(x / scale) clamped to +-127, 0 for an all-zero group
/// or a NaN quotient. `isa` as for the other kernels; every path gives the same codes.
void te_group_quantize_row(int isa, const float *x, long columns, long group_size, float factor, signed char *codes,
                           float *scales);

/// One fused attention problem (AttentionAVX2.c; the rules of BackendOp.attentionForward): q
/// [BH, Lq, Dh], k [BH, Lk, Dh], v [BH, Lk, Dv] contiguous; mask NULL or its element (0, 0, 0, 0)
/// with strides over [B, H, Lq, Lk] (0 along broadcast axes).
typedef struct te_attention_problem {
    const float *q;
    const float *k;
    const float *v;
    const float *mask;
    long mask_strides[4];
    long heads, query_length, key_length, head_dim, value_dim;
    float scale;
    int causal;
} te_attention_problem;

/// 1 if the attention kernels run on this CPU (AVX2 + FMA).
int te_attention_kernels_available(void);

/// Forward of queries first_query..<first_query+32 of head `head`: out [BH, Lq, Dv] and lse
/// [BH, Lq] rows written; scratch holds Dh*64 + 128 + 32*Dv + 64 floats. `isa` TE_ISA_AVX512
/// runs the 16-lane kernel (AttentionAVX512.c), TE_ISA_AVX2 the 8-lane one, each where the CPU
/// has it (else the next one down). Returns 0 for TE_ISA_PORTABLE or without AVX2 + FMA.
int te_attention_forward_block(int isa, const te_attention_problem *p, long head, long first_query, float *out,
                               float *lse, float *scratch);

/// Backward of head `head`, accumulating into grad_q/k/v (zeroed by the caller; full [BH, ...]
/// arrays), from lse and grad_out (full arrays), delta and inverse_norm (this head's Lq
/// values: D_i = dO_i . O_i and the row-sum correction, 1 for normal rows); scratch holds
/// (Dh + Dv)*64 + 2*32*64 floats. Returns 0 without AVX2 + FMA.
int te_attention_backward_head(const te_attention_problem *p, long head, const float *lse, const float *grad_out,
                               const float *delta, const float *inverse_norm, float *grad_q, float *grad_k,
                               float *grad_v, float *scratch);

/// Sets OpenBLAS's process-wide thread count (openblas_set_num_threads).
typedef void (*te_blas_set_threads_function)(int threads);

/// Waits until OpenBLAS may run with `threads` threads (no call with another count running),
/// sets that count through `set_threads` when it differs, and counts the caller in
/// (BLASThreadGate.c). Every call is paired with ``te_blas_gate_leave`` after the BLAS call.
void te_blas_gate_enter(int threads, te_blas_set_threads_function set_threads);

/// Counts a caller of ``te_blas_gate_enter`` out again.
void te_blas_gate_leave(void);

/// Returns free heap pages to the system (glibc malloc_trim(0)); 1 when some were released.
int te_release_free_heap(void);

/// One chunk of a parallel job: `chunk` is in 0..<chunks of ``te_worker_pool_run``.
typedef void (*te_chunk_function)(void *context, long chunk);

/// Runs `function(context, c)` for every c < `chunks` on the calling thread and up to
/// `threads - 1` pooled workers (WorkerPool.c), returning when all have finished. Workers spin
/// for a while after a job before they sleep, so the next job starts without a wake-up.
/// Returns 0 (nothing run) when the pool is busy (another thread's job, or a call from inside
/// a chunk), `threads` < 2 or `chunks` is outside 1..<2^20: the caller runs the chunks itself.
int te_worker_pool_run(long chunks, int threads, te_chunk_function function, void *context);

/// How long an idle worker spins before it sleeps (default 200 000 ns, or TENSOR_CPU_SPIN_US
/// microseconds when set at the pool's first job; 0 sleeps at once).
void te_worker_pool_set_spin(long nanoseconds);

/// Parks the workers that are spinning now (they wake for the next job as usual): called
/// before handing a product to another thread pool (OpenBLAS), whose threads would otherwise
/// share the cores with spinning workers (a 256^3 product ran at half speed on 2 cores).
void te_worker_pool_rest(void);

#ifdef __cplusplus
}
#endif

#endif
