#version 450
#extension GL_GOOGLE_include_directive : require
// Few-bit activation, one invocation per run of 32 elements (a run's b-bit codes fill
// exactly b 32-bit words, so no two invocations share a word).
// BACKWARD == 0: y[i] = f(x[i]); code[i] = number of borders < x[i] (ties go low),
//                packed LSB-first: bits [i*b, (i+1)*b) of the word stream.
// BACKWARD == 1: gradIn[i] = gradOut[i] * levels[code[i]].
// The table buffer holds the 2^b - 1 borders, then the 2^b levels.
#include "activation.glsl"

layout(local_size_x = 64, local_size_y = 1, local_size_z = 1) in;
layout(constant_id = 0) const int ACT = 0;
layout(constant_id = 1) const uint BACKWARD = 0;
layout(constant_id = 2) const uint BITS = 1;

layout(std430, binding = 0) readonly buffer In { float src[]; };        // x, or gradOut
layout(std430, binding = 1) readonly buffer Table { float table[]; };
layout(std430, binding = 2) buffer Codes { uint codes[]; };
layout(std430, binding = 3) writeonly buffer Out { float dst[]; };      // y, or gradIn
layout(push_constant) uniform Params { uint count; float param; } p;

const uint BORDERS = (1u << BITS) - 1u;

uint codeOf(float x) {
    uint low = 0u, high = BORDERS;
    while (low < high) {
        uint middle = (low + high) >> 1;
        if (table[middle] < x) low = middle + 1u; else high = middle;
    }
    return low;
}

void main() {
    uint runs = (p.count + 31u) / 32u;
    for (uint run = gl_GlobalInvocationID.x; run < runs; run += gl_NumWorkGroups.x * 64u) {
        uint first = run * 32u;
        uint last = min(first + 32u, p.count);
        uint word = run * BITS;
        if (BACKWARD == 0u) {
            uint accumulator = 0u;
            uint filled = 0u;
            for (uint i = first; i < last; ++i) {
                float x = src[i];
                uint code = codeOf(x);
                dst[i] = te_activate(ACT, x, p.param);
                accumulator |= code << filled;
                filled += BITS;
                if (filled >= 32u) {
                    codes[word++] = accumulator;
                    filled -= 32u;
                    // The bits of `code` that did not fit (a code straddling two words).
                    accumulator = filled > 0u ? code >> (BITS - filled) : 0u;
                }
            }
            if (filled > 0u) codes[word] = accumulator;
        } else {
            uint accumulator = 0u;
            uint available = 0u;
            uint mask = (1u << BITS) - 1u;
            for (uint i = first; i < last; ++i) {
                uint code;
                if (available >= BITS) {
                    code = accumulator & mask;
                    accumulator = BITS == 32u ? 0u : accumulator >> BITS;
                    available -= BITS;
                } else {
                    uint next = codes[word++];
                    // Low `available` bits from the old word, the rest from the new one.
                    code = (accumulator | (next << available)) & mask;
                    uint used = BITS - available;
                    accumulator = next >> used;
                    available = 32u - used;
                }
                dst[i] = src[i] * table[BORDERS + code];
            }
        }
    }
}
