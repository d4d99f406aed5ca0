#version 450
#extension GL_GOOGLE_include_directive : require
// Deterministic row scatter-add (BackendOp.scatterAddRows), in three phases over an output
// already zeroed and a scratch of 2 * count words whose first half (the ranks) is zeroed:
//   phase 0 (rank): rank(n) = #{m : (indices[m], m) < (indices[n], n)} lexicographically, the
//     position of n in a stable sort by index. Invocation (chunk, n) counts over the 256
//     positions m of its chunk and adds its partial count with an integer atomic: integer
//     sums do not depend on their order, and no invocation runs longer than 256 steps, so
//     the count^2 comparisons spread over count * ceil(count / 256) invocations.
//   phase 1 (place): order[rank(n)] = n.
//   phase 2 (sum): invocation (r, c) whose r starts a run of equal indices in sorted order
//     writes dst[index, c] = the sum of src[order[r'], c] over the run, in ascending r',
//     that is in ascending n: the order and therefore the bits do not depend on scheduling.
// Indices outside 0..<rows sort like any value but their runs write nothing.
#include "elementwise.glsl"

#define CHUNK 256u

layout(std430, binding = 0) readonly buffer Source { float src[]; };
layout(std430, binding = 1) readonly buffer Indices { int indices[]; };
layout(std430, binding = 2) buffer Scratch { uint scratch[]; };   // [0, count): ranks; [count, 2 count): order
layout(std430, binding = 3) buffer Out { float dst[]; };
layout(push_constant) uniform Params {
    uint count;
    uint columns;
    uint rows;
    uint phase;
} p;

void main() {
    if (p.phase == 0u) {
        uint chunks = (p.count + CHUNK - 1u) / CHUNK;
        FOR_EACH_ELEMENT(i, p.count * chunks) {
            uint n = i % p.count;
            uint start = (i / p.count) * CHUNK;
            uint end = min(start + CHUNK, p.count);
            int key = indices[n];
            uint below = 0u;
            for (uint m = start; m < end; ++m) {
                int other = indices[m];
                below += (other < key || (other == key && m < n)) ? 1u : 0u;
            }
            if (below != 0u) atomicAdd(scratch[n], below);
        }
        return;
    }
    if (p.phase == 1u) {
        FOR_EACH_ELEMENT(n, p.count) { scratch[p.count + scratch[n]] = n; }
        return;
    }
    FOR_EACH_ELEMENT(i, p.count * p.columns) {
        uint r = i / p.columns;
        uint column = i % p.columns;
        int key = indices[scratch[p.count + r]];
        if (key < 0 || uint(key) >= p.rows) continue;
        if (r > 0u && indices[scratch[p.count + r - 1u]] == key) continue;
        float sum = 0.0;
        for (uint q = r; q < p.count; ++q) {
            uint n = scratch[p.count + q];
            if (indices[n] != key) break;
            sum += src[n * p.columns + column];
        }
        dst[uint(key) * p.columns + column] = sum;
    }
}
