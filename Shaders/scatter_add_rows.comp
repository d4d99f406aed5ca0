#version 450
#extension GL_GOOGLE_include_directive : require
// Deterministic row scatter-add (BackendOp.scatterAddRows), in two phases over an output
// already zeroed:
//   phase 0 (sort): order[rank(n)] = n, rank(n) = #{m : (indices[m], m) < (indices[n], n)}
//     lexicographically: a stable sort of the positions by index, no atomics, each rank is
//     a count over all indices (count^2 integer comparisons in all).
//   phase 1 (sum): invocation (r, c) whose r starts a run of equal indices in sorted order
//     writes dst[index, c] = the sum of src[order[r'], c] over the run, in ascending r',
//     that is in ascending n: the order and therefore the bits do not depend on scheduling.
// Indices outside 0..<rows sort like any value but their runs write nothing.
#include "elementwise.glsl"

layout(std430, binding = 0) readonly buffer Source { float src[]; };
layout(std430, binding = 1) readonly buffer Indices { int indices[]; };
layout(std430, binding = 2) buffer Order { uint order[]; };
layout(std430, binding = 3) buffer Out { float dst[]; };
layout(push_constant) uniform Params {
    uint count;
    uint columns;
    uint rows;
    uint phase;
} p;

void main() {
    if (p.phase == 0u) {
        FOR_EACH_ELEMENT(n, p.count) {
            int key = indices[n];
            uint rank = 0u;
            for (uint m = 0u; m < p.count; ++m) {
                int other = indices[m];
                rank += (other < key || (other == key && m < n)) ? 1u : 0u;
            }
            order[rank] = n;
        }
        return;
    }
    FOR_EACH_ELEMENT(i, p.count * p.columns) {
        uint r = i / p.columns;
        uint column = i % p.columns;
        int key = indices[order[r]];
        if (key < 0 || uint(key) >= p.rows) continue;
        if (r > 0u && indices[order[r - 1u]] == key) continue;
        float sum = 0.0;
        for (uint q = r; q < p.count; ++q) {
            uint n = order[q];
            if (indices[n] != key) break;
            sum += src[n * p.columns + column];
        }
        dst[uint(key) * p.columns + column] = sum;
    }
}
