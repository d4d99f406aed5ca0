#version 450
#extension GL_GOOGLE_include_directive : require
// The k best of each contiguous row [rows, columns], best first, with int32 indices
// (BackendOp.topK): one invocation per row makes k passes, each taking the best element that
// comes after the previous pick in the total order (NaN above +inf, ties by lower index;
// SelectLimits.topKBefore), so it needs no scratch memory and costs O(k * columns) per row.
#include "elementwise.glsl"

layout(std430, binding = 0) readonly buffer In { float src[]; };
layout(std430, binding = 1) writeonly buffer Values { float values[]; };
layout(std430, binding = 2) writeonly buffer Indices { int indices[]; };
layout(push_constant) uniform Params {
    uint rows;
    uint columns;
    uint k;
    uint largest;
} p;

// Whether (x, i) comes before (y, j) in the output order.
bool before(float x, uint i, float y, uint j) {
    bool xn = isnan(x);
    bool yn = isnan(y);
    if (xn && yn) return i < j;
    if (xn) return p.largest != 0u;
    if (yn) return p.largest == 0u;
    if (x == y) return i < j;
    return p.largest != 0u ? x > y : x < y;
}

void main() {
    FOR_EACH_ELEMENT(row, p.rows) {
        uint base = row * p.columns;
        float previous = 0.0;
        uint previousAt = 0u;
        for (uint j = 0u; j < p.k; ++j) {
            bool found = false;
            float best = 0.0;
            uint bestAt = 0u;
            for (uint c = 0u; c < p.columns; ++c) {
                float x = src[base + c];
                if (j > 0u && !before(previous, previousAt, x, c)) continue;
                if (!found || before(x, c, best, bestAt)) {
                    found = true;
                    best = x;
                    bestAt = c;
                }
            }
            values[row * p.k + j] = best;
            indices[row * p.k + j] = int(bestAt);
            previous = best;
            previousAt = bestAt;
        }
    }
}
