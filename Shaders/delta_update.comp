#version 450
#extension GL_GOOGLE_include_directive : require
// A delta network's input update (BackendOp.deltaUpdate): d = x[i] - ref[i]; where
// !(|d| < theta) (NaN included), delta[i] = d, ref[i] = x[i] and transmitted[0] += 1;
// elsewhere delta[i] = 0. The count is a subgroup-free atomic add per transmitted input.
#include "elementwise.glsl"

layout(std430, binding = 0) readonly buffer In { float x[]; };
layout(std430, binding = 1) buffer Reference { float ref[]; };
layout(std430, binding = 2) writeonly buffer Delta { float delta[]; };
layout(std430, binding = 3) buffer Transmitted { int transmitted[]; };
layout(push_constant) uniform Params { uint count; float theta; } p;

void main() {
    FOR_EACH_ELEMENT(i, p.count) {
        float value = x[i];
        float d = value - ref[i];
        if (!(abs(d) < p.theta)) {
            delta[i] = d;
            ref[i] = value;
            atomicAdd(transmitted[0], 1);
        } else {
            delta[i] = 0.0;
        }
    }
}
