#version 450
#extension GL_GOOGLE_include_directive : require
//! variant storage16: TE_STORAGE16=1
#ifdef TE_STORAGE16
#extension GL_EXT_shader_16bit_storage : require
#endif
// out[i] = a[start + layout(i)] * scale + offset, the input any strided view (rank 0:
// contiguous from start).
// The storage16 variant reads and writes float16 / bfloat16 (constant 0, see
// TE_STORAGE16_IN_OUT_BINDINGS in float16.glsl), rounding the float32 result once when stored.
#include "elementwise.glsl"
#include "strided.glsl"

layout(std430, binding = 0) readonly buffer In { float src[]; };
layout(std430, binding = 1) writeonly buffer Out { float dst[]; };
#ifdef TE_STORAGE16
#include "float16.glsl"
TE_STORAGE16_IN_OUT_BINDINGS(0)
float load(uint i) { return TE_TYPE_IN == uint(TE_DTYPE_FLOAT32) ? src[i] : te_from_16(uint(in_16[i]), TE_TYPE_IN); }
void store(uint i, float v) {
    if (TE_TYPE_OUT == uint(TE_DTYPE_FLOAT32)) dst[i] = v; else out_16[i] = uint16_t(te_to_16(v, TE_TYPE_OUT));
}
#else
float load(uint i) { return src[i]; }
void store(uint i, float v) { dst[i] = v; }
#endif
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
        store(i, fma(load(source), p.scale, p.offset));
    }
}
