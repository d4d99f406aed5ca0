#version 450
#extension GL_GOOGLE_include_directive : require
// Row gather, the embedding lookup (BackendOp.gatherRows): dst[n, c] = table[indices[n], c]
// over [count, columns], copied as bits (uint words: no float conversion, denormals and NaN
// payloads kept); an index outside 0..<rows gives 0 and reads nothing. With 2-byte elements
// (float16, bfloat16) each invocation assembles one whole output word from two elements, so
// no two invocations write the same word.
#include "elementwise.glsl"

layout(std430, binding = 0) readonly buffer Table { uint table[]; };
layout(std430, binding = 1) readonly buffer Indices { int indices[]; };
layout(std430, binding = 2) writeonly buffer Out { uint dst[]; };
layout(push_constant) uniform Params {
    uint total;     // count * columns elements
    uint columns;
    uint rows;
    uint halves;    // 1: 2-byte elements, 0: 4-byte
} p;

// Element h of the output (a 2-byte element in the low 16 bits), 0 for a bad index or past the end.
uint halfElement(uint h) {
    if (h >= p.total) return 0u;
    int row = indices[h / p.columns];
    if (row < 0 || uint(row) >= p.rows) return 0u;
    uint s = uint(row) * p.columns + h % p.columns;
    return (table[s >> 1] >> ((s & 1u) * 16u)) & 0xFFFFu;
}

void main() {
    if (p.halves != 0u) {
        FOR_EACH_ELEMENT(i, (p.total + 1u) / 2u) {
            dst[i] = halfElement(2u * i) | (halfElement(2u * i + 1u) << 16);
        }
        return;
    }
    FOR_EACH_ELEMENT(i, p.total) {
        int row = indices[i / p.columns];
        dst[i] = (row >= 0 && uint(row) < p.rows) ? table[uint(row) * p.columns + i % p.columns] : 0u;
    }
}
