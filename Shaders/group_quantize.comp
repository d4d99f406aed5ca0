#version 450
#extension GL_GOOGLE_include_directive : require
// Mesa's 8-bit storage of a contiguous float32 [rows, columns] by groups of groupSize
// columns along each row (BackendOp.groupQuantize / .groupDequantize; the rules of
// GroupQuantization). Three passes, chosen by PASS:
// PASS 0: one invocation per group: scale = max|x| * scaleFactor (the float32 nearest 1/127,
//   pushed by the host so every backend multiplies by the same number).
// PASS 1: one invocation per 32-bit word of codes (four elements, possibly of two groups or
//   rows, so no two invocations share a word): code = roundEven(x / scale) clamped to
//   [-127, 127], 0 where the scale is 0; packed little-endian, padding bytes 0.
// PASS 2 (dequantise): one invocation per element: out = float(code) * scale.
// Written and read codes and scales have bindings of their own, so every binding is only
// read or only written (what the validation layer's hazard tracking sees).
#include "elementwise.glsl"

layout(constant_id = 0) const uint PASS = 0;

layout(std430, binding = 0) readonly buffer In { float x[]; };
layout(std430, binding = 1) writeonly buffer CodesOut { uint codesOut[]; };
layout(std430, binding = 2) writeonly buffer ScalesOut { float scalesOut[]; };
layout(std430, binding = 3) readonly buffer CodesIn { uint codesIn[]; };
layout(std430, binding = 4) readonly buffer ScalesIn { float scalesIn[]; };
layout(std430, binding = 5) writeonly buffer Out { float dst[]; };
layout(push_constant) uniform Params {
    uint rows;
    uint columns;
    uint groupSize;
    uint groupsPerRow;
    float scaleFactor;
} p;

uint groupOf(uint i) {
    uint row = i / p.columns;
    return row * p.groupsPerRow + (i - row * p.columns) / p.groupSize;
}

void main() {
    uint count = p.rows * p.columns;
    if (PASS == 0u) {
        FOR_EACH_ELEMENT(g, p.rows * p.groupsPerRow) {
            uint row = g / p.groupsPerRow;
            uint start = (g - row * p.groupsPerRow) * p.groupSize;
            uint first = row * p.columns + start;
            uint last = row * p.columns + min(start + p.groupSize, p.columns);
            float largest = 0.0;
            for (uint i = first; i < last; ++i) largest = max(largest, abs(x[i]));
            scalesOut[g] = largest * p.scaleFactor;
        }
    } else if (PASS == 1u) {
        FOR_EACH_ELEMENT(w, (count + 3u) / 4u) {
            uint packed = 0u;
            for (uint k = 0u; k < 4u; ++k) {
                uint i = w * 4u + k;
                if (i >= count) break;
                float scale = scalesIn[groupOf(i)];
                float q = scale > 0.0 ? clamp(roundEven(x[i] / scale), -127.0, 127.0) : 0.0;
                int code = isnan(q) ? 0 : int(q);
                packed |= (uint(code) & 0xFFu) << (8u * k);
            }
            codesOut[w] = packed;
        }
    } else {
        FOR_EACH_ELEMENT(i, count) {
            int code = bitfieldExtract(int(codesIn[i >> 2]), int((i & 3u) * 8u), 8);
            dst[i] = float(code) * scalesIn[groupOf(i)];
        }
    }
}
