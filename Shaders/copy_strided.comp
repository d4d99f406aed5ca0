#version 450
#extension GL_GOOGLE_include_directive : require
// Contiguous dst[i] = src[offset + layout(i)] for a strided layout of rank <= 8.
#include "elementwise.glsl"
#include "strided.glsl"

layout(std430, binding = 0) readonly buffer In { float src[]; };
layout(std430, binding = 1) writeonly buffer Out { float dst[]; };
layout(push_constant) uniform Params {
    uint count;
    uint rank;
    uint offset;
    uint shape[TE_MAX_RANK];
    uint strides[TE_MAX_RANK];
} p;

void main() {
    FOR_EACH_ELEMENT(i, p.count) {
        dst[i] = src[p.offset + te_strided_offset(i, p.rank, p.shape, p.strides)];
    }
}
