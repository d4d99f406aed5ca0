#version 450
#extension GL_GOOGLE_include_directive : require
// The max or min along the middle axis of a strided [outer, axis, inner] view with its int32
// index, one invocation per output: the first NaN wins, ties keep the lowest index
// (BackendOp.reduceIndex; ReduceIndexOp.replaces). MINIMUM is specialisation constant 0.
#include "elementwise.glsl"

layout(constant_id = 0) const int MINIMUM = 0;

layout(std430, binding = 0) readonly buffer In { float src[]; };
layout(std430, binding = 1) writeonly buffer Values { float values[]; };
layout(std430, binding = 2) writeonly buffer Indices { int indices[]; };
layout(push_constant) uniform Params {
    uint outputs;     // outer * inner
    uint axis;        // >= 1
    uint inner;
    uint offset;
    uint outerStride;
    uint axisStride;
    uint innerStride;
} p;

void main() {
    FOR_EACH_ELEMENT(r, p.outputs) {
        uint base = p.offset + (r / p.inner) * p.outerStride + (r % p.inner) * p.innerStride;
        float best = src[base];
        uint at = 0u;
        for (uint k = 1u; k < p.axis && !isnan(best); ++k) {
            float x = src[base + k * p.axisStride];
            bool better = isnan(x) || (MINIMUM != 0 ? x < best : x > best);
            if (better) {
                best = x;
                at = k;
            }
        }
        values[r] = best;
        indices[r] = int(at);
    }
}
