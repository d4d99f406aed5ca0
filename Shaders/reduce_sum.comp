#version 450
// Views the input as [outer, axis, inner]; writes scale * sum over axis as [outer, inner].
// A workgroup of 256 invocations = INNER_LANES columns x (256 / INNER_LANES) axis lanes
// handles INNER_LANES adjacent inner indices of one outer index; each lane sums a strided
// slice of the axis, then a shared-memory tree adds the lanes. INNER_LANES = 1 when
// inner == 1 (all 256 lanes along a contiguous row), 32 otherwise (coalesced columns).
layout(local_size_x = 256, local_size_y = 1, local_size_z = 1) in;
layout(constant_id = 0) const uint INNER_LANES = 1;

layout(std430, binding = 0) readonly buffer In { float src[]; };
layout(std430, binding = 1) writeonly buffer Out { float dst[]; };
layout(push_constant) uniform Params { uint outer; uint axis; uint inner; float scale; } p;

shared float partial[256];

void main() {
    const uint AXIS_LANES = 256u / INNER_LANES;
    uint lid = gl_LocalInvocationID.x;
    uint column = lid % INNER_LANES;
    uint lane = lid / INNER_LANES;
    uint j = gl_WorkGroupID.x * INNER_LANES + column;
    for (uint o = gl_WorkGroupID.y; o < p.outer; o += gl_NumWorkGroups.y) {
        float sum = 0.0;
        if (j < p.inner) {
            uint base = o * p.axis * p.inner + j;
            for (uint a = lane; a < p.axis; a += AXIS_LANES) {
                sum += src[base + a * p.inner];
            }
        }
        partial[lid] = sum;
        barrier();
        for (uint width = AXIS_LANES / 2u; width > 0u; width /= 2u) {
            if (lane < width) {
                partial[lid] += partial[lid + width * INNER_LANES];
            }
            barrier();
        }
        if (lane == 0u && j < p.inner) {
            dst[o * p.inner + j] = partial[column] * p.scale;
        }
        barrier();
    }
}
