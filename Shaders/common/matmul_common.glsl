// Bindings, parameters and the fused epilogue shared by the matrix-product kernels.
// C[b] = op(A[b]) op(B[b]); A is [M, K] (or [K, M] when TRANS_A), B is [K, N] (or [N, K]
// when TRANS_B), row-major with leading dimensions lda / ldb; C is contiguous [batch, M, N].
// The epilogue writes activation(acc + bias[col]) and optionally acc + bias to `pre`.
#ifndef TE_MATMUL_COMMON_GLSL
#define TE_MATMUL_COMMON_GLSL
#include "activation.glsl"

layout(constant_id = 16) const uint TRANS_A = 0;
layout(constant_id = 17) const uint TRANS_B = 0;
layout(constant_id = 18) const uint HAS_BIAS = 0;
layout(constant_id = 19) const int ACT = 0;
layout(constant_id = 20) const uint HAS_PRE = 0;

layout(std430, binding = 0) readonly buffer MatA { float a[]; };
layout(std430, binding = 1) readonly buffer MatB { float b[]; };
layout(std430, binding = 2) writeonly buffer MatC { float c[]; };
layout(std430, binding = 3) readonly buffer Bias { float bias[]; };
layout(std430, binding = 4) writeonly buffer Pre { float pre[]; };

layout(push_constant) uniform MatmulParams {
    uint M;
    uint N;
    uint K;
    uint batch;
    uint lda;
    uint ldb;
    uint strideA;
    uint strideB;
    float actParam;
} p;

// Element (row, k) of op(A) relative to the batch base.
uint te_index_a(uint row, uint k) { return TRANS_A != 0 ? k * p.lda + row : row * p.lda + k; }
// Element (k, col) of op(B) relative to the batch base.
uint te_index_b(uint k, uint col) { return TRANS_B != 0 ? col * p.ldb + k : k * p.ldb + col; }

void te_store(uint index, uint col, float acc) {
    float v = acc;
    if (HAS_BIAS != 0) v += bias[col];
    if (HAS_PRE != 0) pre[index] = v;
    c[index] = te_activate(ACT, v, p.actParam);
}

#endif
