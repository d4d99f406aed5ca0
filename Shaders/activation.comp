#version 450
#extension GL_GOOGLE_include_directive : require
//! variant storage16: TE_STORAGE16=1
#ifdef TE_STORAGE16
#extension GL_EXT_shader_16bit_storage : require
#endif
// Forward: out[i] = f(x[offset + layout(i)]), the input any strided view (rank 0: contiguous
// from offset).  Backward: gradIn[i] = gradOut[i] * f'(x[i]), contiguous.
// Specialisation constants: 0 = activation code, 1 = 0 forward / 1 backward.
// The storage16 variant reads a float16 / bfloat16 input (and gradOut) and writes a float16 /
// bfloat16 output or gradIn (constant 2, see TE_STORAGE16_BINDINGS in float16.glsl; binding 1
// unused by the forward), rounding the float32 result once when stored.
#include "elementwise.glsl"
#include "activation.glsl"
#include "strided.glsl"

layout(constant_id = 0) const int ACT = 0;
layout(constant_id = 1) const uint BACKWARD = 0;

layout(std430, binding = 0) readonly buffer In { float x[]; };
layout(std430, binding = 1) readonly buffer GradOut { float gradOut[]; };
layout(std430, binding = 2) writeonly buffer Out { float dst[]; };
#ifdef TE_STORAGE16
#include "float16.glsl"
TE_STORAGE16_BINDINGS(2)
float load(uint i) { return TE_TYPE_0 == uint(TE_DTYPE_FLOAT32) ? x[i] : te_from_16(uint(in0_16[i]), TE_TYPE_0); }
float loadGrad(uint i) {
    return TE_TYPE_1 == uint(TE_DTYPE_FLOAT32) ? gradOut[i] : te_from_16(uint(in1_16[i]), TE_TYPE_1);
}
void store(uint i, float v) {
    if (TE_TYPE_2 == uint(TE_DTYPE_FLOAT32)) dst[i] = v; else out_16[i] = uint16_t(te_to_16(v, TE_TYPE_2));
}
#else
float load(uint i) { return x[i]; }
float loadGrad(uint i) { return gradOut[i]; }
void store(uint i, float v) { dst[i] = v; }
#endif
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
            store(i, loadGrad(i) * te_activate_derivative(ACT, load(i), p.param));
        } else {
            uint source = p.rank == 0u ? p.offset + i : p.offset + te_strided_offset(i, p.rank, p.shape, p.strides);
            store(i, te_activate(ACT, load(source), p.param));
        }
    }
}
