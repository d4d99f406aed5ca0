#version 450
#extension GL_GOOGLE_include_directive : require
// out[i] = op(x[i]); the op a specialisation constant: 0 exp, 1 log, 2 sqrt, 3 abs (UnaryOp).
#include "elementwise.glsl"

layout(constant_id = 0) const int OP = 0;

layout(std430, binding = 0) readonly buffer In { float x[]; };
layout(std430, binding = 1) writeonly buffer Out { float dst[]; };
layout(push_constant) uniform Params { uint count; } p;

void main() {
    FOR_EACH_ELEMENT(i, p.count) {
        float v = x[i];
        if (OP == 0) {
            dst[i] = exp(v);
        } else if (OP == 1) {
            dst[i] = log(v);
        } else if (OP == 2) {
            dst[i] = sqrt(v);
        } else {
            dst[i] = abs(v);
        }
    }
}
