#version 450
#extension GL_GOOGLE_include_directive : require
// out[i] = value for i < count.
#include "elementwise.glsl"

layout(std430, binding = 0) writeonly buffer Out { float dst[]; };
layout(push_constant) uniform Params { uint count; float value; } p;

void main() {
    FOR_EACH_ELEMENT(i, p.count) { dst[i] = p.value; }
}
