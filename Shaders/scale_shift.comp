#version 450
#extension GL_GOOGLE_include_directive : require
// out[i] = a[start + layout(i)] * scale + offset, the input any strided view (rank 0:
// contiguous from start).
#include "elementwise.glsl"
#include "strided.glsl"

layout(std430, binding = 0) readonly buffer In { float src[]; };
layout(std430, binding = 1) writeonly buffer Out { float dst[]; };
layout(push_constant) uniform Params {
    uint count;
    float scale;
    float offset;
    uint rank;
    uint start;
    uint shape[TE_MAX_RANK];
    uint strides[TE_MAX_RANK];
} p;

void main() {
    FOR_EACH_ELEMENT(i, p.count) {
        uint source = p.rank == 0u ? p.start + i : p.start + te_strided_offset(i, p.rank, p.shape, p.strides);
        dst[i] = fma(src[source], p.scale, p.offset);
    }
}
