#version 450
#extension GL_GOOGLE_include_directive : require
// dst[dstOffset + dstLayout(i)] = src[srcOffset + srcLayout(i)] for i < count, bit for bit, in
// elements of ELEMENT_BYTES (specialisation constant 0: 1, 2 or 4) over one shape of rank <= 8
// with two sets of strides. Only the addressed destination elements change.
//
// Buffers are 32-bit words, so no 8- or 16-bit storage feature is needed. A 4-byte element is
// one plain word store, one invocation per element. 1- and 2-byte elements share their word
// with neighbours another invocation may be writing at the same time:
// - rows mode (wordsPerRow > 0: the destination's innermost axis has stride 1, as in a
//   concatenation): one invocation per destination word of each row's run. A word the run
//   covers whole is one plain store (no other invocation touches it); the partial words at
//   a run's two ends are written with atomics on their own bits only.
// - element mode (wordsPerRow == 0: any other destination layout): one invocation per
//   element, stored with atomicAnd (clear its bits) then atomicOr (set them). Each
//   invocation touches only its own bits, so the word ends right whatever the interleaving.
#include "elementwise.glsl"
#include "strided.glsl"

layout(constant_id = 0) const uint ELEMENT_BYTES = 4u;

layout(std430, binding = 0) readonly buffer In { uint src[]; };
layout(std430, binding = 1) buffer Out { uint dst[]; };
layout(push_constant) uniform Params {
    uint count;        // invocations: elements, or rows * wordsPerRow in rows mode
    uint rank;
    uint srcOffset;
    uint dstOffset;
    uint wordsPerRow;  // 0: element mode
    uint shape[TE_MAX_RANK];
    uint srcStrides[TE_MAX_RANK];
    uint dstStrides[TE_MAX_RANK];
} p;

const uint PER_WORD = 4u / ELEMENT_BYTES;
const uint WIDTH = 8u * ELEMENT_BYTES;
const uint MASK = ELEMENT_BYTES == 4u ? 0xFFFFFFFFu : (1u << WIDTH) - 1u;

uint loadElement(uint s) {
    if (ELEMENT_BYTES == 4u) return src[s];
    return (src[s / PER_WORD] >> ((s % PER_WORD) * WIDTH)) & MASK;
}

// Sets the bits of `mask` in destination word `w` to those of `bits`, leaving the others.
void storeBits(uint w, uint bits, uint mask) {
    if (mask == 0xFFFFFFFFu) {
        dst[w] = bits;
    } else {
        atomicAnd(dst[w], ~mask);
        atomicOr(dst[w], bits & mask);
    }
}

void main() {
    if (p.wordsPerRow == 0u) {
        FOR_EACH_ELEMENT(i, p.count) {
            uint s = p.srcOffset + te_strided_offset(i, p.rank, p.shape, p.srcStrides);
            uint d = p.dstOffset + te_strided_offset(i, p.rank, p.shape, p.dstStrides);
            uint shift = (d % PER_WORD) * WIDTH;
            storeBits(d / PER_WORD, loadElement(s) << shift, MASK << shift);
        }
        return;
    }
    uint columns = p.shape[p.rank - 1u];
    uint sourceStride = p.srcStrides[p.rank - 1u];
    FOR_EACH_ELEMENT(g, p.count) {
        uint row = g / p.wordsPerRow;
        uint k = g % p.wordsPerRow;
        uint start = p.dstOffset + te_strided_offset(row, p.rank - 1u, p.shape, p.dstStrides);
        uint w = start / PER_WORD + k;
        // The run's elements in word w: [first, last) as element offsets.
        uint first = max(w * PER_WORD, start);
        uint last = min(w * PER_WORD + PER_WORD, start + columns);
        if (first >= last) continue;
        uint s = p.srcOffset + te_strided_offset(row, p.rank - 1u, p.shape, p.srcStrides);
        uint bits = 0u;
        uint mask = 0u;
        for (uint d = first; d < last; ++d) {
            uint shift = (d % PER_WORD) * WIDTH;
            bits |= loadElement(s + (d - start) * sourceStride) << shift;
            mask |= MASK << shift;
        }
        storeBits(w, bits, mask);
    }
}
