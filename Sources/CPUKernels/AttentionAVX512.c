// Fused attention forward for x86-64 CPUs with AVX-512 (F, BW, VL, DQ): the rules of
// BackendOp.attentionForward, the structure of AttentionAVX2.c's forward_block with 16 lanes.
//
// Per (head, block of 32 queries) and block of 64 keys: the key block is transposed once
// ([Dh, 64], zero-padded); two queries at a time, their scores against the block's keys are
// one 16-lane FMA chain per 16 keys over Dh, and only the 16-key chunks that hold keys are
// computed (a 20-token sequence costs two chunks, not four). The online softmax rescales
// each output row while it is loaded into registers and adds p_j v_j for the block's keys.
// Scores are scaled after the dot product (q . k) * scale.

#include "ISAKernels.h"

#if defined(__x86_64__)

#include <immintrin.h>
#include <math.h>
#include <string.h>

#define KB 64   // keys per block (CPUDevice.attentionKeyBlock)
#define QB 32   // queries per block (CPUDevice.attentionQueryBlock)
#define TARGET512 "avx512f,avx512bw,avx512vl,avx512dq,fma"
#define KERNEL static inline __attribute__((always_inline, target(TARGET512)))

/// exp(x) for x <= 0 (scores minus their running maximum): 0 below -103 and at -inf, about
/// 1 ulp elsewhere (Cephes expf polynomial, 2^n applied by scalef).
KERNEL __m512 exp512(__m512 x) {
    const __m512 low = _mm512_set1_ps(-103.0f);
    __mmask16 keep = _mm512_cmp_ps_mask(x, low, _CMP_GE_OQ);
    __m512 xc = _mm512_max_ps(x, low);
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), xc);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
    return _mm512_maskz_scalef_ps(keep, p, n);
}

/// Rows first..<first+count of a [L, width] matrix as [width, 64], zero-padded.
KERNEL void transpose_block512(const float *source, long width, long first, long count, float *t) {
    for (long j = 0; j < count; j++) {
        const float *row = source + (first + j) * width;
        for (long d = 0; d < width; d++) t[d * KB + j] = row[d];
    }
    if (count < KB)
        for (long d = 0; d < width; d++) memset(t + d * KB + count, 0, (size_t)(KB - count) * sizeof(float));
}

/// The scores of rows q0 and q1 against the first NC 16-key chunks of the transposed block t
/// ([depth, 64]), times `scale`, into s0 and s1. NC is a constant at every call, so the
/// accumulators stay in registers.
KERNEL void scores2(const float *q0, const float *q1, const float *t, long depth, float scale, const int NC,
                    float *s0, float *s1) {
    __m512 a[4], b[4];
    for (int c = 0; c < NC; c++) a[c] = b[c] = _mm512_setzero_ps();
    for (long d = 0; d < depth; d++) {
        __m512 w0 = _mm512_set1_ps(q0[d]), w1 = _mm512_set1_ps(q1[d]);
        const float *r = t + d * KB;
        for (int c = 0; c < NC; c++) {
            __m512 k = _mm512_loadu_ps(r + 16 * c);
            a[c] = _mm512_fmadd_ps(w0, k, a[c]);
            b[c] = _mm512_fmadd_ps(w1, k, b[c]);
        }
    }
    const __m512 f = _mm512_set1_ps(scale);
    for (int c = 0; c < NC; c++) {
        _mm512_storeu_ps(s0 + 16 * c, _mm512_mul_ps(a[c], f));
        _mm512_storeu_ps(s1 + 16 * c, _mm512_mul_ps(b[c], f));
    }
}

/// y0/y1[0..<width] = alpha * y + sum over j < count of c[j] * rows[j * width ..], for two
/// output rows over the same `rows`: each row load feeds both.
KERNEL void accumulate2(float *y0, float *y1, float alpha0, float alpha1, const float *c0, const float *c1,
                        const float *rows, long count, long width) {
    const __m512 al0 = _mm512_set1_ps(alpha0), al1 = _mm512_set1_ps(alpha1);
    long x = 0;
    for (; x + 32 <= width; x += 32) {
        __m512 a0 = _mm512_mul_ps(al0, _mm512_loadu_ps(y0 + x)), a1 = _mm512_mul_ps(al0, _mm512_loadu_ps(y0 + x + 16));
        __m512 b0 = _mm512_mul_ps(al1, _mm512_loadu_ps(y1 + x)), b1 = _mm512_mul_ps(al1, _mm512_loadu_ps(y1 + x + 16));
        for (long j = 0; j < count; j++) {
            const float *r = rows + j * width + x;
            __m512 v0 = _mm512_loadu_ps(r), v1 = _mm512_loadu_ps(r + 16);
            __m512 w = _mm512_set1_ps(c0[j]), z = _mm512_set1_ps(c1[j]);
            a0 = _mm512_fmadd_ps(w, v0, a0);
            a1 = _mm512_fmadd_ps(w, v1, a1);
            b0 = _mm512_fmadd_ps(z, v0, b0);
            b1 = _mm512_fmadd_ps(z, v1, b1);
        }
        _mm512_storeu_ps(y0 + x, a0);
        _mm512_storeu_ps(y0 + x + 16, a1);
        _mm512_storeu_ps(y1 + x, b0);
        _mm512_storeu_ps(y1 + x + 16, b1);
    }
    for (; x < width; x += 16) {
        __mmask16 lanes = width - x >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (width - x)) - 1);
        __m512 a = _mm512_mul_ps(al0, _mm512_maskz_loadu_ps(lanes, y0 + x));
        __m512 b = _mm512_mul_ps(al1, _mm512_maskz_loadu_ps(lanes, y1 + x));
        for (long j = 0; j < count; j++) {
            __m512 v = _mm512_maskz_loadu_ps(lanes, rows + j * width + x);
            a = _mm512_fmadd_ps(_mm512_set1_ps(c0[j]), v, a);
            b = _mm512_fmadd_ps(_mm512_set1_ps(c1[j]), v, b);
        }
        _mm512_mask_storeu_ps(y0 + x, lanes, a);
        _mm512_mask_storeu_ps(y1 + x, lanes, b);
    }
}

static const float *mask_of_head512(const te_attention_problem *p, long head) {
    if (!p->mask) return 0;
    long heads = p->heads > 0 ? p->heads : 1;
    return p->mask + (head / heads) * p->mask_strides[0] + (head % heads) * p->mask_strides[1];
}

/// The online softmax step of query i, whose scaled scores against keys first..<first+count
/// are in s (chunks 0..<nc): mask, causal and padding keys to -inf, the new maximum, s =
/// exp(s - max) (0 past count), the running sum. Returns the factor for the query's output
/// row (exp(m_old - m_new)); a query with nothing visible yet gets s = 0 and factor 1.
KERNEL float online_update512(const te_attention_problem *p, const float *mask_head, long i, long first, long count,
                              int nc, float *s, float *m, float *l) {
    if (mask_head) {
        const float *row = mask_head + i * p->mask_strides[2];
        long step = p->mask_strides[3];
        if (step == 1) {
            for (int c = 0; c < nc; c++) {
                long left = count - 16 * c;
                __mmask16 lanes = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
                __m512 added = _mm512_add_ps(_mm512_loadu_ps(s + 16 * c), _mm512_maskz_loadu_ps(lanes, row + first + 16 * c));
                _mm512_storeu_ps(s + 16 * c, added);
            }
        } else {
            for (long j = 0; j < count; j++) s[j] += row[(first + j) * step];
        }
    }
    long visible = count;
    if (p->causal && first + count - 1 > i) visible = i - first + 1 > 0 ? i - first + 1 : 0;
    const __m512 minus = _mm512_set1_ps(-INFINITY);
    __m512 top = minus;
    for (int c = 0; c < nc; c++) {
        long left = visible - 16 * c;
        __mmask16 lanes = left >= 16 ? (__mmask16)0xFFFF : left <= 0 ? (__mmask16)0 : (__mmask16)((1u << left) - 1);
        __m512 v = _mm512_mask_blend_ps(lanes, minus, _mm512_loadu_ps(s + 16 * c));
        _mm512_storeu_ps(s + 16 * c, v);
        top = _mm512_max_ps(top, v);
    }
    float block_max = _mm512_reduce_max_ps(top);
    float next = *m > block_max ? *m : block_max;
    if (next == -INFINITY) {
        memset(s, 0, (size_t)(16 * nc) * sizeof(float));
        return 1.0f;
    }
    float alpha = expf(*m - next);
    const __m512 shift = _mm512_set1_ps(next);
    __m512 total = _mm512_setzero_ps();
    for (int c = 0; c < nc; c++) {
        __m512 e = exp512(_mm512_sub_ps(_mm512_loadu_ps(s + 16 * c), shift));
        _mm512_storeu_ps(s + 16 * c, e);
        total = _mm512_add_ps(total, e);
    }
    *l = *l * alpha + _mm512_reduce_add_ps(total);
    *m = next;
    return alpha;
}

/// The scores of rows i0 and i1 (equal for an odd block's last row) against the key block.
KERNEL void block_scores2(const float *q0, const float *q1, const float *kt, long depth, float scale, int nc,
                          float *s0, float *s1) {
    switch (nc) {
    case 1: scores2(q0, q1, kt, depth, scale, 1, s0, s1); break;
    case 2: scores2(q0, q1, kt, depth, scale, 2, s0, s1); break;
    case 3: scores2(q0, q1, kt, depth, scale, 3, s0, s1); break;
    default: scores2(q0, q1, kt, depth, scale, 4, s0, s1); break;
    }
}

__attribute__((target(TARGET512)))
static void forward_block512(const te_attention_problem *p, long head, long first_query, float *out, float *lse,
                             float *scratch) {
    long dh = p->head_dim, dv = p->value_dim, lq = p->query_length, lk = p->key_length;
    long last = first_query + QB < lq ? first_query + QB : lq, rows = last - first_query;
    float *kt = scratch, *s = kt + dh * KB, *acc = s + 2 * KB, *m = acc + QB * dv, *l = m + QB;
    memset(acc, 0, (size_t)((rows < QB ? rows + 1 : rows) * dv) * sizeof(float));   // + the spare row of an odd block
    for (long r = 0; r < rows; r++) { m[r] = -INFINITY; l[r] = 0; }
    const float *q = p->q + head * lq * dh, *k = p->k + head * lk * dh, *v = p->v + head * lk * dv;
    const float *mask_head = mask_of_head512(p, head);
    long key_end = p->causal && last < lk ? last : lk;
    for (long first = 0; first < key_end; first += KB) {
        long count = key_end - first < KB ? key_end - first : KB;
        int nc = (int)((count + 15) / 16);
        transpose_block512(k, dh, first, count, kt);
        for (long r = 0; r < rows; r += 2) {
            long i0 = first_query + r;
            int pair = r + 1 < rows;
            long i1 = pair ? i0 + 1 : i0;
            block_scores2(q + i0 * dh, q + i1 * dh, kt, dh, p->scale, nc, s, s + KB);
            float alpha0 = online_update512(p, mask_head, i0, first, count, nc, s, m + r, l + r);
            if (pair) {
                float alpha1 = online_update512(p, mask_head, i1, first, count, nc, s + KB, m + r + 1, l + r + 1);
                accumulate2(acc + r * dv, acc + (r + 1) * dv, alpha0, alpha1, s, s + KB, v + first * dv, count, dv);
            } else {
                // An odd block's last row (rows < 32): the pair's second row is the unused
                // accumulator row after it, fed zeros.
                memset(s + KB, 0, KB * sizeof(float));
                accumulate2(acc + r * dv, acc + (r + 1) * dv, alpha0, 1.0f, s, s + KB, v + first * dv, count, dv);
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

void te_attention_forward_block_avx512(const te_attention_problem *p, long head, long first_query, float *out,
                                       float *lse, float *scratch) {
    forward_block512(p, head, first_query, out, lse, scratch);
}

#endif
