#version 450
#extension GL_GOOGLE_include_directive : require
// dst[r, c] = (labels[r] == c) as float32 over [rows, classes]; a row labelled ignoreIndex is
// all 0, a row whose label is outside 0..<classes all NaN (BackendOp.oneHot).
#include "elementwise.glsl"

layout(std430, binding = 0) readonly buffer Labels { int labels[]; };
layout(std430, binding = 1) writeonly buffer Out { float dst[]; };
layout(push_constant) uniform Params {
    uint count;       // rows * classes
    uint classes;
    int ignoreIndex;
} p;

void main() {
    FOR_EACH_ELEMENT(i, p.count) {
        int label = labels[i / p.classes];
        int column = int(i % p.classes);
        float value;
        if (label == p.ignoreIndex) value = 0.0;
        else if (label < 0 || label >= int(p.classes)) value = uintBitsToFloat(0x7FC00000u);
        else value = label == column ? 1.0 : 0.0;
        dst[i] = value;
    }
}
