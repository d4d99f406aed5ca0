#version 450
#extension GL_GOOGLE_include_directive : require
// Row gather, the embedding lookup (BackendOp.gatherRows): dst[n, c] = table[indices[n], c]
// over [count, columns]; an index outside 0..<rows gives 0 and reads nothing.
#include "elementwise.glsl"

layout(std430, binding = 0) readonly buffer Table { float table[]; };
layout(std430, binding = 1) readonly buffer Indices { int indices[]; };
layout(std430, binding = 2) writeonly buffer Out { float dst[]; };
layout(push_constant) uniform Params {
    uint total;     // count * columns
    uint columns;
    uint rows;
} p;

void main() {
    FOR_EACH_ELEMENT(i, p.total) {
        int row = indices[i / p.columns];
        uint column = i % p.columns;
        dst[i] = (row >= 0 && uint(row) < p.rows) ? table[uint(row) * p.columns + column] : 0.0;
    }
}
