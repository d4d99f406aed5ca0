#version 450
// Output-sparse product: for each listed output n = activeRows[i], y[r, n] =
// activation(x[r, :] . w[n, :] + bias[n]) (and pre[r, n] = the value before the
// activation), w row-major [N, K]. One workgroup per list entry (entries beyond the
// grid loop): the 256 lanes split K (coalesced reads of the weight row and of x), and a
// shared-memory tree adds the lanes, four input rows at a time. Unlisted outputs are
// zeroed beforehand by the host-side fill.
#extension GL_GOOGLE_include_directive : require
#include "activation.glsl"

layout(local_size_x = 256, local_size_y = 1, local_size_z = 1) in;
layout(constant_id = 18) const uint HAS_BIAS = 0;
layout(constant_id = 19) const int ACT = 0;
layout(constant_id = 20) const uint HAS_PRE = 0;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(std430, binding = 3) readonly buffer Bias { float bias[]; };
layout(std430, binding = 4) writeonly buffer Pre { float pre[]; };
layout(std430, binding = 5) readonly buffer Active { int activeRows[]; };
layout(push_constant) uniform Params { uint rows; uint inner; uint columns; uint count; float actParam; } p;

#define WG 256u
#define MAX_ROWS 4u

shared float partial[MAX_ROWS * WG];

void main() {
    uint tid = gl_LocalInvocationID.x;
    for (uint i = gl_WorkGroupID.x; i < p.count; i += gl_NumWorkGroups.x) {
        uint n = uint(activeRows[i]);
        if (n >= p.columns) continue;  // uniform: an index outside 0..<N is ignored
        for (uint r0 = 0u; r0 < p.rows; r0 += MAX_ROWS) {
            uint blockRows = min(MAX_ROWS, p.rows - r0);
            float acc[MAX_ROWS];
            for (uint j = 0u; j < MAX_ROWS; ++j) acc[j] = 0.0;
            for (uint k = tid; k < p.inner; k += WG) {
                float wv = w[n * p.inner + k];
                for (uint j = 0u; j < MAX_ROWS; ++j) {
                    if (j < blockRows) acc[j] = fma(x[(r0 + j) * p.inner + k], wv, acc[j]);
                }
            }
            for (uint j = 0u; j < MAX_ROWS; ++j) partial[j * WG + tid] = acc[j];
            barrier();
            for (uint width = WG / 2u; width > 0u; width >>= 1u) {
                if (tid < width) {
                    for (uint j = 0u; j < MAX_ROWS; ++j) partial[j * WG + tid] += partial[j * WG + tid + width];
                }
                barrier();
            }
            if (tid == 0u) {
                for (uint j = 0u; j < blockRows; ++j) {
                    float v = partial[j * WG];
                    if (HAS_BIAS != 0u) v += bias[n];
                    uint index = (r0 + j) * p.columns + n;
                    if (HAS_PRE != 0u) pre[index] = v;
                    y[index] = te_activate(ACT, v, p.actParam);
                }
            }
            barrier();
        }
    }
}
