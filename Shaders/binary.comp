#version 450
#extension GL_GOOGLE_include_directive : require
//! variant storage16: TE_STORAGE16=1
#ifdef TE_STORAGE16
#extension GL_EXT_shader_16bit_storage : require
#endif
// out[i] = a[aLayout(i)] op b[bLayout(i)] with broadcasting (stride 0) layouts.
// The operation is specialisation constant 0 (BinaryOp.kernelCode, TE_BINARY_*); maximum and
// minimum propagate NaN (GLSL's max/min leave it undefined). Comparisons write 1.0 or 0.0 and
// test NaN explicitly (every relation false, notEqual true), not trusting ordered/unordered codegen.
// The storage16 variant reads and writes float16 / bfloat16 operands (constant 1, see
// TE_STORAGE16_BINDINGS in float16.glsl), rounding the float32 result once when stored.
#include "elementwise.glsl"
#include "strided.glsl"
#include "tensor_codes.h"

layout(constant_id = 0) const int OP = 0;

layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) writeonly buffer Out { float dst[]; };
#ifdef TE_STORAGE16
#include "float16.glsl"
TE_STORAGE16_BINDINGS(1)
float loadA(uint i) { return TE_TYPE_0 == uint(TE_DTYPE_FLOAT32) ? a[i] : te_from_16(uint(in0_16[i]), TE_TYPE_0); }
float loadB(uint i) { return TE_TYPE_1 == uint(TE_DTYPE_FLOAT32) ? b[i] : te_from_16(uint(in1_16[i]), TE_TYPE_1); }
void store(uint i, float v) {
    if (TE_TYPE_2 == uint(TE_DTYPE_FLOAT32)) dst[i] = v; else out_16[i] = uint16_t(te_to_16(v, TE_TYPE_2));
}
#else
float loadA(uint i) { return a[i]; }
float loadB(uint i) { return b[i]; }
void store(uint i, float v) { dst[i] = v; }
#endif
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
        float x = loadA(ia);
        float y = loadB(ib);
        float r;
        if (OP == TE_BINARY_ADD) r = x + y;
        else if (OP == TE_BINARY_SUB) r = x - y;
        else if (OP == TE_BINARY_MUL) r = x * y;
        else if (OP == TE_BINARY_DIV) r = x / y;
        else if (OP >= TE_BINARY_EQUAL) {
            bool unordered = isnan(x) || isnan(y);
            bool holds;
            if (OP == TE_BINARY_EQUAL) holds = !unordered && x == y;
            else if (OP == TE_BINARY_NOT_EQUAL) holds = unordered || !(x == y);
            else if (OP == TE_BINARY_LESS) holds = !unordered && x < y;
            else if (OP == TE_BINARY_LESS_EQUAL) holds = !unordered && x <= y;
            else if (OP == TE_BINARY_GREATER) holds = !unordered && x > y;
            else holds = !unordered && x >= y;
            r = holds ? 1.0 : 0.0;
        }
        else if (isnan(x) || isnan(y)) r = x + y;
        else if (OP == TE_BINARY_MAXIMUM) r = x < y ? y : x;
        else r = y < x ? y : x;
        store(i, r);
    }
}
