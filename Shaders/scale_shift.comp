#version 450
#extension GL_GOOGLE_include_directive : require
// out[i] = a[i] * scale + offset.
#include "elementwise.glsl"

layout(std430, binding = 0) readonly buffer In { float src[]; };
layout(std430, binding = 1) writeonly buffer Out { float dst[]; };
layout(push_constant) uniform Params { uint count; float scale; float offset; } p;

void main() {
    FOR_EACH_ELEMENT(i, p.count) { dst[i] = fma(src[i], p.scale, p.offset); }
}
