#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
//! variant storage16: TE_STORAGE16=1
#ifdef TE_STORAGE16
#extension GL_EXT_shader_16bit_storage : require
#endif
// Matrix product for few rows (M <= 4), on devices with subgroup arithmetic: one subgroup
// computes one output column at a time (the subgroups of a workgroup take its NT columns
// in turn); its invocations stride over K, each keeping a partial dot product per row, and
// subgroupAdd reduces them: no shared memory, no barriers. Chosen when B is transposed
// ([N, K]): a column's k are then adjacent, so a subgroup reads B coalesced (row-major B
// runs Shaders/matvec.comp).
//
// Any subgroup size works: the stride over K is the number of invocations active in the
// subgroup and each invocation's rank among them (counted with subgroup operations, so a
// partially filled subgroup still covers every k), and the columns loop runs over the
// subgroups the driver actually made.
#include "matmul_common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 128;
layout(constant_id = 1) const uint NT = 16;   // columns per workgroup

#define MAX_ROWS 4u

void main() {
    uint rank = subgroupExclusiveAdd(1u);
    uint lanes = subgroupAdd(1u);
    for (uint batch = gl_WorkGroupID.z; batch < p.batch; batch += gl_NumWorkGroups.z) {
        uint baseA = batch * p.strideA;
        uint baseB = batch * p.strideB;
        for (uint column = gl_SubgroupID; column < NT; column += gl_NumSubgroups) {
            uint col = gl_WorkGroupID.x * NT + column;
            if (col >= p.N) break;   // the same for the whole subgroup
            vec4 acc = vec4(0.0);
            for (uint k = rank; k < p.K; k += lanes) {
                float bv = te_load_b(baseB + te_index_b(k, col));
                for (uint m = 0u; m < MAX_ROWS; ++m) {
                    if (m < p.M) acc[m] = fma(te_load_a(baseA + te_index_a(m, k)), bv, acc[m]);
                }
            }
            acc = subgroupAdd(acc);
            if (subgroupElect()) {
                for (uint m = 0u; m < p.M && m < MAX_ROWS; ++m) {
                    te_store(batch * p.M * p.N + m * p.N + col, col, acc[m]);
                }
            }
        }
    }
}
