#version 450
#extension GL_GOOGLE_include_directive : require
//! variant storage16: TE_STORAGE16=1
#ifdef TE_STORAGE16
#extension GL_EXT_shader_16bit_storage : require
#endif
// out[i] = op(x[offset + layout(i)]), the input any strided view (rank 0: contiguous from
// offset); the op a specialisation constant (UnaryOp.kernelCode, TE_UNARY_*).
// The storage16 variant reads and writes float16 / bfloat16 (constant 1, see
// TE_STORAGE16_IN_OUT_BINDINGS in float16.glsl), rounding the float32 result once when stored.
#include "elementwise.glsl"
#include "strided.glsl"
#include "tensor_codes.h"

layout(constant_id = 0) const int OP = 0;

layout(std430, binding = 0) readonly buffer In { float x[]; };
layout(std430, binding = 1) writeonly buffer Out { float dst[]; };
#ifdef TE_STORAGE16
#include "float16.glsl"
TE_STORAGE16_IN_OUT_BINDINGS(1)
float load(uint i) { return TE_TYPE_IN == uint(TE_DTYPE_FLOAT32) ? x[i] : te_from_16(uint(in_16[i]), TE_TYPE_IN); }
void store(uint i, float v) {
    if (TE_TYPE_OUT == uint(TE_DTYPE_FLOAT32)) dst[i] = v; else out_16[i] = uint16_t(te_to_16(v, TE_TYPE_OUT));
}
#else
float load(uint i) { return x[i]; }
void store(uint i, float v) { dst[i] = v; }
#endif
layout(push_constant) uniform Params {
    uint count;
    uint rank;
    uint offset;
    uint shape[TE_MAX_RANK];
    uint strides[TE_MAX_RANK];
} p;

void main() {
    FOR_EACH_ELEMENT(i, p.count) {
        float v = load(p.rank == 0u ? p.offset + i : p.offset + te_strided_offset(i, p.rank, p.shape, p.strides));
        if (OP == TE_UNARY_EXP) {
            store(i, exp(v));
        } else if (OP == TE_UNARY_LOG) {
            store(i, log(v));
        } else if (OP == TE_UNARY_SQRT) {
            store(i, sqrt(v));
        } else {
            store(i, abs(v));
        }
    }
}
