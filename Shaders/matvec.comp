#version 450
#extension GL_GOOGLE_include_directive : require
//! variant storage16: TE_STORAGE16=1
#ifdef TE_STORAGE16
#extension GL_EXT_shader_16bit_storage : require
#endif
// Matrix product for few rows (M <= 4): each output column is a dot product over K,
// split across KS lanes of the workgroup and combined in shared memory. A workgroup
// covers NT columns. With B row-major [K, N] adjacent invocations take adjacent
// columns; with B transposed ([N, K]) adjacent invocations take adjacent k, so global
// reads stay coalesced either way.
#include "matmul_common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint NT = 32;   // columns per workgroup
layout(constant_id = 2) const uint KS = 8;    // k lanes per column; NT * KS == WG

#define MAX_ROWS 4u

shared float partial[MAX_ROWS * 256];

void main() {
    uint tid = gl_LocalInvocationID.x;
    uint column = TRANS_B != 0 ? tid / KS : tid % NT;
    uint lane = TRANS_B != 0 ? tid % KS : tid / NT;
    uint col = gl_WorkGroupID.x * NT + column;

    for (uint batch = gl_WorkGroupID.z; batch < p.batch; batch += gl_NumWorkGroups.z) {
        uint baseA = batch * p.strideA;
        uint baseB = batch * p.strideB;
        float acc[MAX_ROWS];
        for (uint m = 0u; m < MAX_ROWS; ++m) acc[m] = 0.0;
        if (col < p.N) {
            for (uint k = lane; k < p.K; k += KS) {
                float bv = te_load_b(baseB + te_index_b(k, col));
                for (uint m = 0u; m < MAX_ROWS; ++m) {
                    if (m < p.M) acc[m] = fma(te_load_a(baseA + te_index_a(m, k)), bv, acc[m]);
                }
            }
        }
        for (uint m = 0u; m < MAX_ROWS; ++m) partial[m * WG + column * KS + lane] = acc[m];
        barrier();
        for (uint width = KS / 2u; width > 0u; width /= 2u) {
            if (lane < width) {
                for (uint m = 0u; m < MAX_ROWS; ++m) {
                    partial[m * WG + column * KS + lane] += partial[m * WG + column * KS + lane + width];
                }
            }
            barrier();
        }
        if (lane == 0u && col < p.N) {
            for (uint m = 0u; m < p.M && m < MAX_ROWS; ++m) {
                te_store(batch * p.M * p.N + m * p.N + col, col, partial[m * WG + column * KS]);
            }
        }
        barrier();
    }
}
