#version 450
#extension GL_GOOGLE_include_directive : require
// dst = cast(src[offset + layout(i)]) between float32, float16, bfloat16, int32 and uint8
// (DType.kernelCode, TE_DTYPE_*; specialisation constants 0 and 1). Buffers are read and written as 32-bit
// words, so no 16-bit or 8-bit storage feature is needed: one invocation writes one whole
// destination word (one, two or four elements), zero-filling the tail of the last word.
// Every conversion is done on bits or integers, never on denormal-flushing float
// arithmetic: float to float rounds to nearest even (overflow to infinity, NaN quiet);
// integer to 16-bit float rounds to odd on the way through 32 bits, then to nearest even
// (no double rounding); float to integer truncates toward zero and saturates, NaN -> 0.
#include "elementwise.glsl"
#include "strided.glsl"
#include "tensor_codes.h"
#include "float16.glsl"

#define TE_F32 uint(TE_DTYPE_FLOAT32)
#define TE_F16 uint(TE_DTYPE_FLOAT16)
#define TE_BF16 uint(TE_DTYPE_BFLOAT16)
#define TE_I32 uint(TE_DTYPE_INT32)
#define TE_U8 uint(TE_DTYPE_UINT8)

layout(constant_id = 0) const uint SRC_TYPE = 0u;
layout(constant_id = 1) const uint DST_TYPE = 0u;

layout(std430, binding = 0) readonly buffer In { uint src[]; };
layout(std430, binding = 1) writeonly buffer Out { uint dst[]; };
layout(push_constant) uniform Params {
    uint count;       // elements
    uint words;       // destination words
    uint rank;        // 0: contiguous from offset
    uint offset;
    uint shape[TE_MAX_RANK];
    uint strides[TE_MAX_RANK];
} p;

bool isIntegerType(uint t) { return t == TE_I32 || t == TE_U8; }

// Element `e` (in source elements) as float32 bits, or as an integer.
uint loadBits(uint e) {
    if (SRC_TYPE == TE_F32) return src[e];
    if (SRC_TYPE == TE_BF16) return ((src[e >> 1] >> ((e & 1u) * 16u)) & 0xFFFFu) << 16;
    return te_bits_from_half((src[e >> 1] >> ((e & 1u) * 16u)) & 0xFFFFu);
}

int loadInteger(uint e) {
    if (SRC_TYPE == TE_I32) return int(src[e]);
    return int((src[e >> 2] >> ((e & 3u) * 8u)) & 0xFFu);
}

// Integer -> float32 bits rounded to odd (exact below 2^24): rounding that to 16 bits
// afterwards equals one rounding of the integer.
uint oddBitsFromInteger(int i) {
    if (i == 0) return 0u;
    uint sign = i < 0 ? 0x80000000u : 0u;
    uint magnitude = i < 0 ? uint(-(i + 1)) + 1u : uint(i);
    int lead = findMSB(magnitude);
    if (lead <= 23) return sign | ((uint(lead) + 127u) << 23) | ((magnitude << uint(23 - lead)) & 0x7FFFFFu);
    uint shift = uint(lead - 23);
    uint kept = magnitude >> shift;
    if ((magnitude & ((1u << shift) - 1u)) != 0u) kept |= 1u;
    return sign | ((uint(lead) + 127u) << 23) | (kept & 0x7FFFFFu);
}

int integerFromBits(uint x, int low, int high) {
    float f = uintBitsToFloat(x);
    if (isnan(f)) return 0;
    if (f >= float(high)) return high;          // float(high) rounds up for int32: still saturates
    if (f <= float(low)) return low;
    return int(f);                              // truncation toward zero
}

// Source element `e` converted to the destination type, in the low bits of the result.
uint convert(uint e) {
    if (isIntegerType(SRC_TYPE)) {
        int i = loadInteger(e);
        if (DST_TYPE == TE_I32) return uint(i);
        if (DST_TYPE == TE_U8) return uint(clamp(i, 0, 255));
        if (DST_TYPE == TE_F32) return floatBitsToUint(float(i));
        uint odd = oddBitsFromInteger(i);
        return DST_TYPE == TE_F16 ? te_half_from_bits(odd) : te_bfloat_from_bits(odd);
    }
    uint bits = loadBits(e);
    if (DST_TYPE == TE_F32) return bits;
    if (DST_TYPE == TE_F16) return te_half_from_bits(bits);
    if (DST_TYPE == TE_BF16) return te_bfloat_from_bits(bits);
    if (DST_TYPE == TE_I32) return uint(integerFromBits(bits, -2147483647 - 1, 2147483647));
    return uint(integerFromBits(bits, 0, 255));
}

void main() {
    uint perWord = (DST_TYPE == TE_F16 || DST_TYPE == TE_BF16) ? 2u : (DST_TYPE == TE_U8 ? 4u : 1u);
    uint width = 32u / perWord;
    uint mask = perWord == 1u ? 0xFFFFFFFFu : (1u << width) - 1u;
    FOR_EACH_ELEMENT(w, p.words) {
        uint word = 0u;
        for (uint k = 0u; k < perWord; ++k) {
            uint i = w * perWord + k;
            if (i >= p.count) break;
            uint e = p.rank == 0u ? p.offset + i : p.offset + te_strided_offset(i, p.rank, p.shape, p.strides);
            word |= (convert(e) & mask) << (k * width);
        }
        dst[w] = word;
    }
}
