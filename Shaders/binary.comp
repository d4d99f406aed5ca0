#version 450
#extension GL_GOOGLE_include_directive : require
// out[i] = a[aLayout(i)] op b[bLayout(i)] with broadcasting (stride 0) layouts.
// The operation is specialisation constant 0 (BinaryOp raw value).
#include "elementwise.glsl"
#include "strided.glsl"

layout(constant_id = 0) const uint OP = 0;

layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) writeonly buffer Out { float dst[]; };
layout(push_constant) uniform Params {
    uint count;
    uint rank;
    uint aOffset;
    uint bOffset;
    uint shape[TE_MAX_RANK];
    uint aStrides[TE_MAX_RANK];
    uint bStrides[TE_MAX_RANK];
} p;

void main() {
    FOR_EACH_ELEMENT(i, p.count) {
        uint rest = i;
        uint ia = p.aOffset;
        uint ib = p.bOffset;
        for (int axis = int(p.rank) - 1; axis >= 0; --axis) {
            uint extent = p.shape[axis];
            uint coordinate = rest % extent;
            rest /= extent;
            ia += coordinate * p.aStrides[axis];
            ib += coordinate * p.bStrides[axis];
        }
        float x = a[ia];
        float y = b[ib];
        float r;
        if (OP == 0) r = x + y;
        else if (OP == 1) r = x - y;
        else if (OP == 2) r = x * y;
        else r = x / y;
        dst[i] = r;
    }
}
