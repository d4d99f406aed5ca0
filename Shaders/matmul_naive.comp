#version 450
#extension GL_GOOGLE_include_directive : require
// Reference kernel: one invocation per output element, no tiling. Kept only to show
// what the tiled kernel gains (tensorbench); supports the same operands and epilogue.
#include "matmul_common.glsl"

layout(local_size_x = 16, local_size_y = 16, local_size_z = 1) in;

void main() {
    uint col = gl_GlobalInvocationID.x;
    uint row = gl_GlobalInvocationID.y;
    if (row >= p.M || col >= p.N) return;
    for (uint batch = gl_WorkGroupID.z; batch < p.batch; batch += gl_NumWorkGroups.z) {
        uint baseA = batch * p.strideA;
        uint baseB = batch * p.strideB;
        float acc = 0.0;
        for (uint k = 0u; k < p.K; ++k) {
            acc = fma(a[baseA + te_index_a(row, k)], b[baseB + te_index_b(k, col)], acc);
        }
        te_store(batch * p.M * p.N + row * p.N + col, col, acc);
    }
}
