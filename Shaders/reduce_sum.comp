#version 450
// Views the input as [outer, axis, inner] with any strides (from offset); writes
// scale * sum over axis, contiguous, as [outer, inner].
// A workgroup of 256 invocations = INNER_LANES columns x (256 / INNER_LANES) axis lanes
// handles INNER_LANES adjacent inner indices of one outer index; each lane sums a strided
// slice of the axis, then a shared-memory tree adds the lanes. INNER_LANES = 1 when
// inner == 1 (all 256 lanes along a contiguous row), 32 otherwise (coalesced columns).
// The subgroup variant adds rows with subgroupAdd (devices with subgroup arithmetic,
// unless TENSOR_VULKAN_NO_SUBGROUP is set); any subgroup size works.
// The storage16 variant (shared-memory tree only) reads a float16 / bfloat16 input and
// writes a float16 / bfloat16 output (constant 1, see TE_STORAGE16_IN_OUT_BINDINGS in
// float16.glsl): the sum accumulates in float32 and is rounded once when stored.
//! variant subgroup: TE_SUBGROUP=1
//! variant storage16: TE_STORAGE16=1
#extension GL_GOOGLE_include_directive : require
#ifdef TE_SUBGROUP
#extension GL_KHR_shader_subgroup_arithmetic : require
#extension GL_KHR_shader_subgroup_basic : require
#endif
#ifdef TE_STORAGE16
#extension GL_EXT_shader_16bit_storage : require
#endif
layout(local_size_x = 256, local_size_y = 1, local_size_z = 1) in;
layout(constant_id = 0) const uint INNER_LANES = 1;

layout(std430, binding = 0) readonly buffer In { float src[]; };
layout(std430, binding = 1) writeonly buffer Out { float dst[]; };
#ifdef TE_STORAGE16
#include "float16.glsl"
TE_STORAGE16_IN_OUT_BINDINGS(1)
float load(uint i) { return TE_TYPE_IN == uint(TE_DTYPE_FLOAT32) ? src[i] : te_from_16(uint(in_16[i]), TE_TYPE_IN); }
void store(uint i, float v) {
    if (TE_TYPE_OUT == uint(TE_DTYPE_FLOAT32)) dst[i] = v; else out_16[i] = uint16_t(te_to_16(v, TE_TYPE_OUT));
}
#else
float load(uint i) { return src[i]; }
void store(uint i, float v) { dst[i] = v; }
#endif
layout(push_constant) uniform Params {
    uint outer;
    uint axis;
    uint inner;
    float scale;
    uint offset;
    uint outerStride;
    uint axisStride;
    uint innerStride;
} p;

shared float partial[256];

void main() {
    const uint AXIS_LANES = 256u / INNER_LANES;
    uint lid = gl_LocalInvocationID.x;
    uint column = lid % INNER_LANES;
    uint lane = lid / INNER_LANES;
    for (uint o = gl_WorkGroupID.y; o < p.outer; o += gl_NumWorkGroups.y) {
        for (uint j0 = gl_WorkGroupID.x * INNER_LANES; j0 < p.inner; j0 += gl_NumWorkGroups.x * INNER_LANES) {
            uint j = j0 + column;
            float sum = 0.0;
            if (j < p.inner) {
                uint base = p.offset + o * p.outerStride + j * p.innerStride;
                for (uint a = lane; a < p.axis; a += AXIS_LANES) {
                    sum += load(base + a * p.axisStride);
                }
            }
#ifdef TE_SUBGROUP
            if (INNER_LANES == 1u) {
                // Rows: add within each subgroup, then the first subgroup adds the partials.
                float s = subgroupAdd(sum);
                if (subgroupElect()) partial[gl_SubgroupID] = s;
                barrier();
                if (gl_SubgroupID == 0u) {
                    float t = 0.0;
                    for (uint i = gl_SubgroupInvocationID; i < gl_NumSubgroups; i += gl_SubgroupSize) t += partial[i];
                    t = subgroupAdd(t);
                    if (subgroupElect()) store(o, t * p.scale);
                }
                barrier();
                continue;
            }
#endif
            partial[lid] = sum;
            barrier();
            for (uint width = AXIS_LANES / 2u; width > 0u; width /= 2u) {
                if (lane < width) {
                    partial[lid] += partial[lid + width * INNER_LANES];
                }
                barrier();
            }
            if (lane == 0u && j < p.inner) {
                store(o * p.inner + j, partial[column] * p.scale);
            }
            barrier();
        }
    }
}
