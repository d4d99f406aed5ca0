#version 450
#extension GL_GOOGLE_include_directive : require
// out[i] = op(x[offset + layout(i)]), the input any strided view (rank 0: contiguous from
// offset); the op a specialisation constant (UnaryOp.kernelCode, TE_UNARY_*).
#include "elementwise.glsl"
#include "strided.glsl"
#include "tensor_codes.h"

layout(constant_id = 0) const int OP = 0;

layout(std430, binding = 0) readonly buffer In { float x[]; };
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
        float v = x[p.rank == 0u ? p.offset + i : p.offset + te_strided_offset(i, p.rank, p.shape, p.strides)];
        if (OP == TE_UNARY_EXP) {
            dst[i] = exp(v);
        } else if (OP == TE_UNARY_LOG) {
            dst[i] = log(v);
        } else if (OP == TE_UNARY_SQRT) {
            dst[i] = sqrt(v);
        } else {
            dst[i] = abs(v);
        }
    }
}
