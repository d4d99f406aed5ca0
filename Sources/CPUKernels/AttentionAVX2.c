// Fused attention blocks for x86-64 CPUs with AVX2 and FMA (the rules of BackendOp.attentionForward
// and attentionBackward; CPUDevice+Attention.swift calls these and keeps a portable Swift path).
//
// Forward, per (head, block of 32 queries): for each block of 64 keys, the key block is
// transposed once ([Dh, 64]); a query's 64 scores are eight 8-lane FMA chains over Dh; the
// mask and causal masking are added; the online softmax rescales the query's output row by
// exp(m_old - m_new) while the row is loaded into registers, and adds p_j v_j for the block's
// keys before storing it once. Queries go in pairs, so each key (and value) load feeds two
// rows' FMAs.
// Backward, per head (one thread owns the head's gradients: no atomics): per query block and
// key block, phase 1 computes each query's p = exp(s - lse) and dS = p (dO . v - D) * scale
// into 32 x 64 tiles and accumulates dQ_i += sum_j dS_ij k_j in registers; phase 2 walks the
// keys two at a time, dV_j += sum_i p_ij dO_i and dK_j += sum_i dS_ij q_i, again in registers.

#include "ISAKernels.h"

#if defined(__x86_64__)

#include <immintrin.h>
#include <math.h>
#include <string.h>

#define KB 64   // keys per block (CPUDevice.attentionKeyBlock)
#define QB 32   // queries per block (CPUDevice.attentionQueryBlock)
#define KERNEL static inline __attribute__((always_inline, target("avx2,fma")))

/// exp(x), 0 below -103 (and at -inf), NaN propagating; about 1 ulp (Cephes expf polynomial).
KERNEL __m256 exp256(__m256 x) {
    const __m256 low = _mm256_set1_ps(-103.0f);
    __m256 below = _mm256_cmp_ps(x, low, _CMP_LT_OQ);
    __m256 xc = _mm256_min_ps(_mm256_max_ps(low, x), _mm256_set1_ps(88.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), xc);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    __m256i ni = _mm256_cvtps_epi32(n);
    __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, _mm256_set1_epi32(127)), 23));
    __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, _mm256_set1_epi32(127)), 23));
    __m256 result = _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
    return _mm256_andnot_ps(below, result);
}

KERNEL float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

/// Rows first..<first+count of a [L, width] matrix as [width, 64], zero-padded.
KERNEL void transpose_block(const float *source, long width, long first, long count, float *t) {
    for (long j = 0; j < count; j++) {
        const float *row = source + (first + j) * width;
        for (long d = 0; d < width; d++) t[d * KB + j] = row[d];
    }
    if (count < KB)
        for (long d = 0; d < width; d++) memset(t + d * KB + count, 0, (size_t)(KB - count) * sizeof(float));
}

/// out[0..<64] = (row . t[:, j]) over `depth` (t is [depth, 64]), times `factor`.
KERNEL void row_times_block(const float *row, float factor, const float *t, long depth, float *out) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
    for (long d = 0; d < depth; d++) {
        __m256 w = _mm256_set1_ps(row[d] * factor);
        const float *r = t + d * KB;
        s0 = _mm256_fmadd_ps(w, _mm256_loadu_ps(r), s0);
        s1 = _mm256_fmadd_ps(w, _mm256_loadu_ps(r + 8), s1);
        s2 = _mm256_fmadd_ps(w, _mm256_loadu_ps(r + 16), s2);
        s3 = _mm256_fmadd_ps(w, _mm256_loadu_ps(r + 24), s3);
        s4 = _mm256_fmadd_ps(w, _mm256_loadu_ps(r + 32), s4);
        s5 = _mm256_fmadd_ps(w, _mm256_loadu_ps(r + 40), s5);
        s6 = _mm256_fmadd_ps(w, _mm256_loadu_ps(r + 48), s6);
        s7 = _mm256_fmadd_ps(w, _mm256_loadu_ps(r + 56), s7);
    }
    _mm256_storeu_ps(out, s0);
    _mm256_storeu_ps(out + 8, s1);
    _mm256_storeu_ps(out + 16, s2);
    _mm256_storeu_ps(out + 24, s3);
    _mm256_storeu_ps(out + 32, s4);
    _mm256_storeu_ps(out + 40, s5);
    _mm256_storeu_ps(out + 48, s6);
    _mm256_storeu_ps(out + 56, s7);
}

/// y[0..<width] = alpha * y + sum over j < count of c[j * cstride] * rows[j * width ..], the
/// row of y held in registers 32 (then 8, then 1) columns at a time.
KERNEL void accumulate_rows(float *y, float alpha, const float *c, long cstride, const float *rows, long count,
                            long width) {
    const __m256 al = _mm256_set1_ps(alpha);
    long x = 0;
    for (; x + 32 <= width; x += 32) {
        __m256 a0 = _mm256_mul_ps(al, _mm256_loadu_ps(y + x)), a1 = _mm256_mul_ps(al, _mm256_loadu_ps(y + x + 8));
        __m256 a2 = _mm256_mul_ps(al, _mm256_loadu_ps(y + x + 16)), a3 = _mm256_mul_ps(al, _mm256_loadu_ps(y + x + 24));
        for (long j = 0; j < count; j++) {
            __m256 w = _mm256_set1_ps(c[j * cstride]);
            const float *r = rows + j * width + x;
            a0 = _mm256_fmadd_ps(w, _mm256_loadu_ps(r), a0);
            a1 = _mm256_fmadd_ps(w, _mm256_loadu_ps(r + 8), a1);
            a2 = _mm256_fmadd_ps(w, _mm256_loadu_ps(r + 16), a2);
            a3 = _mm256_fmadd_ps(w, _mm256_loadu_ps(r + 24), a3);
        }
        _mm256_storeu_ps(y + x, a0);
        _mm256_storeu_ps(y + x + 8, a1);
        _mm256_storeu_ps(y + x + 16, a2);
        _mm256_storeu_ps(y + x + 24, a3);
    }
    for (; x + 8 <= width; x += 8) {
        __m256 a = _mm256_mul_ps(al, _mm256_loadu_ps(y + x));
        for (long j = 0; j < count; j++) a = _mm256_fmadd_ps(_mm256_set1_ps(c[j * cstride]), _mm256_loadu_ps(rows + j * width + x), a);
        _mm256_storeu_ps(y + x, a);
    }
    for (; x < width; x++) {
        float a = alpha * y[x];
        for (long j = 0; j < count; j++) a += c[j * cstride] * rows[j * width + x];
        y[x] = a;
    }
}

/// Adds the mask to query i's 64 scores against keys first..<first+count, sets -inf where
/// causal and key > i and past count; returns their maximum.
KERNEL float mask_scores(const te_attention_problem *p, const float *mask_head, long i, long first, long count,
                         float *s) {
    if (mask_head) {
        const float *m = mask_head + i * p->mask_strides[2];
        long step = p->mask_strides[3];
        for (long j = 0; j < count; j++) s[j] += m[(first + j) * step];
    }
    if (p->causal && first + count - 1 > i)
        for (long j = (i - first + 1 > 0 ? i - first + 1 : 0); j < count; j++) s[j] = -INFINITY;
    for (long j = count; j < KB; j++) s[j] = -INFINITY;
    __m256 top = _mm256_loadu_ps(s);
    for (int c = 8; c < KB; c += 8) top = _mm256_max_ps(top, _mm256_loadu_ps(s + c));
    __m128 t = _mm_max_ps(_mm256_castps256_ps128(top), _mm256_extractf128_ps(top, 1));
    t = _mm_max_ps(t, _mm_movehl_ps(t, t));
    t = _mm_max_ss(t, _mm_shuffle_ps(t, t, 1));
    return _mm_cvtss_f32(t);
}

/// The 64 scores of query i against keys first..<first+count (kt transposed, zero-padded):
/// scale q . k + mask, -inf where causal and key > i and past count. Returns their maximum.
KERNEL float block_scores(const te_attention_problem *p, const float *mask_head, const float *q_row, long i,
                          const float *kt, long first, long count, float *s) {
    row_times_block(q_row, p->scale, kt, p->head_dim, s);
    return mask_scores(p, mask_head, i, first, count, s);
}

/// row_times_block for two rows at once, 32 keys per pass, each kt load feeding both rows.
KERNEL void rows2_times_block(const float *row0, const float *row1, float factor, const float *t, long depth,
                              float *out0, float *out1) {
    for (int half = 0; half < KB; half += 32) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        for (long d = 0; d < depth; d++) {
            __m256 w = _mm256_set1_ps(row0[d] * factor), x = _mm256_set1_ps(row1[d] * factor);
            const float *r = t + d * KB + half;
            __m256 k0 = _mm256_loadu_ps(r), k1 = _mm256_loadu_ps(r + 8), k2 = _mm256_loadu_ps(r + 16), k3 = _mm256_loadu_ps(r + 24);
            a0 = _mm256_fmadd_ps(w, k0, a0);
            a1 = _mm256_fmadd_ps(w, k1, a1);
            a2 = _mm256_fmadd_ps(w, k2, a2);
            a3 = _mm256_fmadd_ps(w, k3, a3);
            b0 = _mm256_fmadd_ps(x, k0, b0);
            b1 = _mm256_fmadd_ps(x, k1, b1);
            b2 = _mm256_fmadd_ps(x, k2, b2);
            b3 = _mm256_fmadd_ps(x, k3, b3);
        }
        _mm256_storeu_ps(out0 + half, a0);
        _mm256_storeu_ps(out0 + half + 8, a1);
        _mm256_storeu_ps(out0 + half + 16, a2);
        _mm256_storeu_ps(out0 + half + 24, a3);
        _mm256_storeu_ps(out1 + half, b0);
        _mm256_storeu_ps(out1 + half + 8, b1);
        _mm256_storeu_ps(out1 + half + 16, b2);
        _mm256_storeu_ps(out1 + half + 24, b3);
    }
}

/// accumulate_rows for two output rows over the same `rows`, each row load feeding both.
KERNEL void accumulate_rows2(float *y0, float *y1, float alpha0, float alpha1, const float *c0, const float *c1,
                             long cstride, const float *rows, long count, long width) {
    const __m256 al0 = _mm256_set1_ps(alpha0), al1 = _mm256_set1_ps(alpha1);
    long x = 0;
    for (; x + 16 <= width; x += 16) {
        __m256 a0 = _mm256_mul_ps(al0, _mm256_loadu_ps(y0 + x)), a1 = _mm256_mul_ps(al0, _mm256_loadu_ps(y0 + x + 8));
        __m256 b0 = _mm256_mul_ps(al1, _mm256_loadu_ps(y1 + x)), b1 = _mm256_mul_ps(al1, _mm256_loadu_ps(y1 + x + 8));
        for (long j = 0; j < count; j++) {
            const float *r = rows + j * width + x;
            __m256 v0 = _mm256_loadu_ps(r), v1 = _mm256_loadu_ps(r + 8);
            __m256 w = _mm256_set1_ps(c0[j * cstride]), z = _mm256_set1_ps(c1[j * cstride]);
            a0 = _mm256_fmadd_ps(w, v0, a0);
            a1 = _mm256_fmadd_ps(w, v1, a1);
            b0 = _mm256_fmadd_ps(z, v0, b0);
            b1 = _mm256_fmadd_ps(z, v1, b1);
        }
        _mm256_storeu_ps(y0 + x, a0);
        _mm256_storeu_ps(y0 + x + 8, a1);
        _mm256_storeu_ps(y1 + x, b0);
        _mm256_storeu_ps(y1 + x + 8, b1);
    }
    for (; x + 8 <= width; x += 8) {
        __m256 a = _mm256_mul_ps(al0, _mm256_loadu_ps(y0 + x)), b = _mm256_mul_ps(al1, _mm256_loadu_ps(y1 + x));
        for (long j = 0; j < count; j++) {
            __m256 v = _mm256_loadu_ps(rows + j * width + x);
            a = _mm256_fmadd_ps(_mm256_set1_ps(c0[j * cstride]), v, a);
            b = _mm256_fmadd_ps(_mm256_set1_ps(c1[j * cstride]), v, b);
        }
        _mm256_storeu_ps(y0 + x, a);
        _mm256_storeu_ps(y1 + x, b);
    }
    for (; x < width; x++) {
        float a = alpha0 * y0[x], b = alpha1 * y1[x];
        for (long j = 0; j < count; j++) {
            a += c0[j * cstride] * rows[j * width + x];
            b += c1[j * cstride] * rows[j * width + x];
        }
        y0[x] = a;
        y1[x] = b;
    }
}

/// s[j] = exp(s[j] - shift) * factor on the 64 lanes; returns their sum.
KERNEL float block_exp(float *s, float shift, float factor) {
    __m256 total = _mm256_setzero_ps(), sh = _mm256_set1_ps(shift), f = _mm256_set1_ps(factor);
    for (int c = 0; c < KB; c += 8) {
        __m256 e = _mm256_mul_ps(exp256(_mm256_sub_ps(_mm256_loadu_ps(s + c), sh)), f);
        _mm256_storeu_ps(s + c, e);
        total = _mm256_add_ps(total, e);
    }
    return hsum(total);
}

static const float *mask_of_head(const te_attention_problem *p, long head) {
    if (!p->mask) return 0;
    long heads = p->heads > 0 ? p->heads : 1;
    return p->mask + (head / heads) * p->mask_strides[0] + (head % heads) * p->mask_strides[1];
}

/// The online softmax step of one query row whose raw scores are in s: mask, new maximum,
/// s = exp(s - max), running sum. Returns the factor for the row's output (exp(m_old - m_new));
/// a row with nothing visible yet gets s = 0 and factor 1.
KERNEL float online_update(const te_attention_problem *p, const float *mask_head, long i, long first, long count,
                           float *s, float *m, float *l) {
    float top = mask_scores(p, mask_head, i, first, count, s);
    float next = *m > top ? *m : top;
    if (next == -INFINITY) {
        memset(s, 0, KB * sizeof(float));
        return 1.0f;
    }
    float alpha = expf(*m - next);
    *l = *l * alpha + block_exp(s, next, 1.0f);
    *m = next;
    return alpha;
}

__attribute__((target("avx2,fma")))
static void forward_block(const te_attention_problem *p, long head, long first_query, float *out, float *lse,
                          float *scratch) {
    long dh = p->head_dim, dv = p->value_dim, lq = p->query_length, lk = p->key_length;
    long last = first_query + QB < lq ? first_query + QB : lq, rows = last - first_query;
    float *kt = scratch, *s = kt + dh * KB, *acc = s + 2 * KB, *m = acc + QB * dv, *l = m + QB;
    memset(acc, 0, (size_t)(rows * dv) * sizeof(float));
    for (long r = 0; r < rows; r++) { m[r] = -INFINITY; l[r] = 0; }
    const float *q = p->q + head * lq * dh, *k = p->k + head * lk * dh, *v = p->v + head * lk * dv;
    const float *mask_head = mask_of_head(p, head);
    long key_end = p->causal && last < lk ? last : lk;
    for (long first = 0; first < key_end; first += KB) {
        long count = key_end - first < KB ? key_end - first : KB;
        transpose_block(k, dh, first, count, kt);
        for (long r = 0; r < rows; r += 2) {
            long i = first_query + r;
            if (r + 1 < rows) {
                rows2_times_block(q + i * dh, q + (i + 1) * dh, p->scale, kt, dh, s, s + KB);
                float alpha0 = online_update(p, mask_head, i, first, count, s, m + r, l + r);
                float alpha1 = online_update(p, mask_head, i + 1, first, count, s + KB, m + r + 1, l + r + 1);
                accumulate_rows2(acc + r * dv, acc + (r + 1) * dv, alpha0, alpha1, s, s + KB, 1, v + first * dv, count, dv);
            } else {
                row_times_block(q + i * dh, p->scale, kt, dh, s);
                float alpha = online_update(p, mask_head, i, first, count, s, m + r, l + r);
                accumulate_rows(acc + r * dv, alpha, s, 1, v + first * dv, count, dv);
            }
        }
    }
    for (long r = 0; r < rows; r++) {
        long row = head * lq + first_query + r;
        float inverse = l[r] > 0 ? 1.0f / l[r] : 0.0f;
        for (long d = 0; d < dv; d++) out[row * dv + d] = acc[r * dv + d] * inverse;
        lse[row] = l[r] > 0 ? m[r] + logf(l[r]) : -INFINITY;
    }
}

__attribute__((target("avx2,fma")))
static void backward_head(const te_attention_problem *p, long head, const float *lse, const float *grad_out,
                          const float *delta, const float *inverse_norm, float *grad_q, float *grad_k, float *grad_v,
                          float *scratch) {
    long dh = p->head_dim, dv = p->value_dim, lq = p->query_length, lk = p->key_length;
    float *kt = scratch, *vt = kt + dh * KB, *P = vt + dv * KB, *DS = P + QB * KB;
    const float *q = p->q + head * lq * dh, *k = p->k + head * lk * dh, *v = p->v + head * lk * dv;
    const float *mask_head = mask_of_head(p, head);
    lse += head * lq;
    grad_out += head * lq * dv;
    grad_q += head * lq * dh;
    grad_k += head * lk * dh;
    grad_v += head * lk * dv;
    const __m256 scale = _mm256_set1_ps(p->scale);
    for (long first_query = 0; first_query < lq; first_query += QB) {
        long last = first_query + QB < lq ? first_query + QB : lq, rows = last - first_query;
        long key_end = p->causal && last < lk ? last : lk;
        for (long first = 0; first < key_end; first += KB) {
            long count = key_end - first < KB ? key_end - first : KB;
            transpose_block(k, dh, first, count, kt);
            transpose_block(v, dv, first, count, vt);
            for (long r = 0; r < rows; r++) {
                long i = first_query + r;
                float *pr = P + r * KB, *dsr = DS + r * KB;
                if (lse[i] == -INFINITY) {
                    memset(pr, 0, KB * sizeof(float));
                    memset(dsr, 0, KB * sizeof(float));
                    continue;
                }
                block_scores(p, mask_head, q + i * dh, i, kt, first, count, pr);
                block_exp(pr, lse[i], inverse_norm[i]);
                row_times_block(grad_out + i * dv, 1.0f, vt, dv, dsr);   // dP_ij = dO_i . v_j
                __m256 d = _mm256_set1_ps(delta[i]);
                for (int c = 0; c < KB; c += 8) {
                    __m256 pv = _mm256_loadu_ps(pr + c);
                    _mm256_storeu_ps(dsr + c, _mm256_mul_ps(_mm256_mul_ps(pv, _mm256_sub_ps(_mm256_loadu_ps(dsr + c), d)), scale));
                }
                for (long j = count; j < KB; j++) dsr[j] = 0;
                accumulate_rows(grad_q + i * dh, 1.0f, dsr, 1, k + first * dh, count, dh);
            }
            long j = 0;
            for (; j + 2 <= count; j += 2) {   // two keys at a time: each dO / q row load feeds both
                long key = first + j;
                accumulate_rows2(grad_v + key * dv, grad_v + (key + 1) * dv, 1.0f, 1.0f, P + j, P + j + 1, KB,
                                 grad_out + first_query * dv, rows, dv);
                accumulate_rows2(grad_k + key * dh, grad_k + (key + 1) * dh, 1.0f, 1.0f, DS + j, DS + j + 1, KB,
                                 q + first_query * dh, rows, dh);
            }
            for (; j < count; j++) {
                long key = first + j;
                accumulate_rows(grad_v + key * dv, 1.0f, P + j, KB, grad_out + first_query * dv, rows, dv);
                accumulate_rows(grad_k + key * dh, 1.0f, DS + j, KB, q + first_query * dh, rows, dh);
            }
        }
    }
}

int te_attention_kernels_available(void) { return te_cpu_isa_supported(TE_ISA_AVX2); }

int te_attention_forward_block(int isa, const te_attention_problem *p, long head, long first_query, float *out,
                               float *lse, float *scratch) {
    if (isa >= TE_ISA_AVX512 && te_cpu_isa_supported(TE_ISA_AVX512)) {
        te_attention_forward_block_avx512(p, head, first_query, out, lse, scratch);
        return 1;
    }
    if (isa < TE_ISA_AVX2 || !te_cpu_isa_supported(TE_ISA_AVX2)) return 0;
    forward_block(p, head, first_query, out, lse, scratch);
    return 1;
}

int te_attention_backward_head(const te_attention_problem *p, long head, const float *lse, const float *grad_out,
                               const float *delta, const float *inverse_norm, float *grad_q, float *grad_k,
                               float *grad_v, float *scratch) {
    if (!te_cpu_isa_supported(TE_ISA_AVX2)) return 0;
    backward_head(p, head, lse, grad_out, delta, inverse_norm, grad_q, grad_k, grad_v, scratch);
    return 1;
}

#else

int te_attention_kernels_available(void) { return 0; }
int te_attention_forward_block(int isa, const te_attention_problem *p, long head, long first_query, float *out,
                               float *lse, float *scratch) { (void)isa; (void)p; (void)head; (void)first_query; (void)out; (void)lse; (void)scratch; return 0; }
int te_attention_backward_head(const te_attention_problem *p, long head, const float *lse, const float *grad_out,
                               const float *delta, const float *inverse_norm, float *grad_q, float *grad_k,
                               float *grad_v, float *scratch) {
    (void)p; (void)head; (void)lse; (void)grad_out; (void)delta; (void)inverse_norm; (void)grad_q; (void)grad_k;
    (void)grad_v; (void)scratch;
    return 0;
}

#endif
