#version 450
#extension GL_GOOGLE_include_directive : require
// dst[i] = cond[cLayout(i)] != 0 ? a[aLayout(i)] : b[bLayout(i)] with broadcasting (stride 0)
// layouts of rank <= 6 (three stride sets fill the 128 push-constant bytes); a NaN condition
// is nonzero (BackendOp.select).
#include "elementwise.glsl"

#define SELECT_MAX_RANK 6

layout(std430, binding = 0) readonly buffer C { float cond[]; };
layout(std430, binding = 1) readonly buffer A { float a[]; };
layout(std430, binding = 2) readonly buffer B { float b[]; };
layout(std430, binding = 3) writeonly buffer Out { float dst[]; };
layout(push_constant) uniform Params {
    uint count;
    uint rank;
    uint cOffset;
    uint aOffset;
    uint bOffset;
    uint shape[SELECT_MAX_RANK];
    uint cStrides[SELECT_MAX_RANK];
    uint aStrides[SELECT_MAX_RANK];
    uint bStrides[SELECT_MAX_RANK];
} p;

void main() {
    FOR_EACH_ELEMENT(i, p.count) {
        uint rest = i;
        uint ic = p.cOffset;
        uint ia = p.aOffset;
        uint ib = p.bOffset;
        for (int axis = int(p.rank) - 1; axis >= 0; --axis) {
            uint extent = p.shape[axis];
            uint coordinate = rest % extent;
            rest /= extent;
            ic += coordinate * p.cStrides[axis];
            ia += coordinate * p.aStrides[axis];
            ib += coordinate * p.bStrides[axis];
        }
        // Compare the bits with zero's (either sign): a NaN or any other nonzero picks a.
        bool pick = (floatBitsToUint(cond[ic]) & 0x7FFFFFFFu) != 0u;
        dst[i] = pick ? a[ia] : b[ib];
    }
}
