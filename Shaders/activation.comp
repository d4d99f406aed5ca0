#version 450
#extension GL_GOOGLE_include_directive : require
// Forward: out[i] = f(x[offset + layout(i)]), the input any strided view (rank 0: contiguous
// from offset).  Backward: gradIn[i] = gradOut[i] * f'(x[i]), contiguous.
// Specialisation constants: 0 = activation code, 1 = 0 forward / 1 backward.
#include "elementwise.glsl"
#include "activation.glsl"
#include "strided.glsl"

layout(constant_id = 0) const int ACT = 0;
layout(constant_id = 1) const uint BACKWARD = 0;

layout(std430, binding = 0) readonly buffer In { float x[]; };
layout(std430, binding = 1) readonly buffer GradOut { float gradOut[]; };
layout(std430, binding = 2) writeonly buffer Out { float dst[]; };
layout(push_constant) uniform Params {
    uint count;
    float param;
    uint rank;
    uint offset;
    uint shape[TE_MAX_RANK];
    uint strides[TE_MAX_RANK];
} p;

void main() {
    FOR_EACH_ELEMENT(i, p.count) {
        if (BACKWARD != 0) {
            dst[i] = gradOut[i] * te_activate_derivative(ACT, x[i], p.param);
        } else {
            uint source = p.rank == 0u ? p.offset + i : p.offset + te_strided_offset(i, p.rank, p.shape, p.strides);
            dst[i] = te_activate(ACT, x[source], p.param);
        }
    }
}
