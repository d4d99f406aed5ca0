#version 450
#extension GL_GOOGLE_include_directive : require
//! variant storage16: TE_STORAGE16=1
#ifdef TE_STORAGE16
#extension GL_EXT_shader_16bit_storage : require
#endif
// Split-K, second pass: binding 0 holds the float32 partial products [splits, M, N] that
// Shaders/matmul_tiled.comp wrote with SPLIT_K (splits = ceil(K / kChunk)); one invocation
// per output adds its layers in order (a fixed order: the same sum on every run) and
// stores the sum through the shared epilogue (bias, activation, pre-activation values,
// few-bit codes, 16-bit output in the storage16 variant). Binding 1 is not read.
#include "matmul_common.glsl"

layout(local_size_x = 256, local_size_y = 1, local_size_z = 1) in;

void main() {
    uint count = p.M * p.N;
    uint splits = (p.K + p.kChunk - 1u) / p.kChunk;
    for (uint i = gl_GlobalInvocationID.x; i < count; i += gl_NumWorkGroups.x * 256u) {
        float sum = 0.0;
        for (uint s = 0u; s < splits; ++s) sum += a[s * count + i];
        te_store(i, i % p.N, sum);
    }
}
