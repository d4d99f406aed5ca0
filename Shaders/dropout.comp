#version 450
#extension GL_GOOGLE_include_directive : require
// Inverted dropout (BackendOp.dropout): element i has stream index n = offset + i (64-bit);
// Philox4x32-10 of counter (n / 4, 0, 0) under key seed gives four words, word n % 4's top 24
// bits times 2^-24 is the uniform u, and the element is kept (times scale, rounded on the host)
// when u >= probability. umulExtended gives the 32x32 -> 64-bit products Philox's rounds need.
#include "elementwise.glsl"

layout(std430, binding = 0) readonly buffer In { float src[]; };
layout(std430, binding = 1) writeonly buffer Out { float dst[]; };
layout(push_constant) uniform Params {
    uint count;
    uint offsetLow;
    uint offsetHigh;
    uint seedLow;
    uint seedHigh;
    float probability;
    float scale;
} p;

uvec4 philox4x32_10(uvec4 c, uvec2 k) {
    for (int round = 0; round < 10; ++round) {
        if (round > 0) {
            k.x += 0x9E3779B9u;
            k.y += 0xBB67AE85u;
        }
        uint hi0, lo0, hi1, lo1;
        umulExtended(0xD2511F53u, c.x, hi0, lo0);
        umulExtended(0xCD9E8D57u, c.z, hi1, lo1);
        c = uvec4(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    }
    return c;
}

void main() {
    FOR_EACH_ELEMENT(i, p.count) {
        uint low = p.offsetLow + i;
        uint high = p.offsetHigh + (low < i ? 1u : 0u);
        uvec4 words = philox4x32_10(uvec4((low >> 2) | (high << 30), high >> 2, 0u, 0u), uvec2(p.seedLow, p.seedHigh));
        uint word = words[low & 3u];
        float u = float(word >> 8) * (1.0 / 16777216.0);
        dst[i] = u < p.probability ? 0.0 : src[i] * p.scale;
    }
}
