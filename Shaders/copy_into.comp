#version 450
#extension GL_GOOGLE_include_directive : require
// dst[dstOffset + dstLayout(i)] = src[srcOffset + srcLayout(i)] for i < count, bit for bit, in
// elements of ELEMENT_BYTES (specialisation constant 0: 1, 2 or 4) over one shape of rank <= 8
// with two sets of strides. Only the addressed destination elements change.
// Buffers are 32-bit words, so no 8- or 16-bit storage feature is needed. A 4-byte element is
// one plain word store. A 1- or 2-byte element shares its word with neighbours that other
// invocations may be writing at the same time, so it is stored with two atomics on that word:
// atomicAnd clears the element's bits, atomicOr sets them. Each invocation touches only its
// own element's bits, so the word ends right whatever the interleaving (a simpler, slower
// path than one invocation per word, which a strided destination would need an inverse
// mapping for).
#include "elementwise.glsl"
#include "strided.glsl"

layout(constant_id = 0) const uint ELEMENT_BYTES = 4u;

layout(std430, binding = 0) readonly buffer In { uint src[]; };
layout(std430, binding = 1) buffer Out { uint dst[]; };
layout(push_constant) uniform Params {
    uint count;
    uint rank;
    uint srcOffset;
    uint dstOffset;
    uint shape[TE_MAX_RANK];
    uint srcStrides[TE_MAX_RANK];
    uint dstStrides[TE_MAX_RANK];
} p;

void main() {
    FOR_EACH_ELEMENT(i, p.count) {
        uint s = p.srcOffset + te_strided_offset(i, p.rank, p.shape, p.srcStrides);
        uint d = p.dstOffset + te_strided_offset(i, p.rank, p.shape, p.dstStrides);
        if (ELEMENT_BYTES == 4u) {
            dst[d] = src[s];
        } else {
            uint perWord = 4u / ELEMENT_BYTES;
            uint width = 8u * ELEMENT_BYTES;
            uint mask = (1u << width) - 1u;
            uint value = (src[s / perWord] >> ((s % perWord) * width)) & mask;
            uint shift = (d % perWord) * width;
            atomicAnd(dst[d / perWord], ~(mask << shift));
            atomicOr(dst[d / perWord], value << shift);
        }
    }
}
