// float16 and bfloat16 <-> float32, on bits: float16 -> float32 is exact (subnormal halves
// included, whatever the device does with denormals); float32 -> 16 bits rounds to nearest
// even (overflow to infinity, NaN stays a quiet NaN). Shared by the cast kernel (which packs
// 16-bit values into 32-bit words itself) and the kernels' 16-bit storage variants.
#ifndef TE_FLOAT16_GLSL
#define TE_FLOAT16_GLSL
#include "tensor_codes.h"

// float16 bits (low 16 bits of h) -> float32 bits, exactly.
uint te_bits_from_half(uint h) {
    uint sign = (h & 0x8000u) << 16;
    uint exponent = (h >> 10) & 0x1Fu;
    uint mantissa = h & 0x3FFu;
    if (exponent == 0x1Fu) return sign | 0x7F800000u | (mantissa << 13);
    if (exponent != 0u) return sign | ((exponent + 112u) << 23) | (mantissa << 13);
    if (mantissa == 0u) return sign;
    int lead = findMSB(mantissa);              // value = mantissa * 2^-24
    return sign | (uint(lead + 103) << 23) | ((mantissa << uint(23 - lead)) & 0x7FFFFFu);
}

// float32 bits -> float16 bits, round to nearest even.
uint te_half_from_bits(uint x) {
    uint sign = (x >> 16) & 0x8000u;
    uint exponent = (x >> 23) & 0xFFu;
    uint mantissa = x & 0x7FFFFFu;
    if (exponent == 0xFFu) return sign | 0x7C00u | (mantissa != 0u ? 0x200u | (mantissa >> 13) : 0u);
    int e = int(exponent) - 112;
    if (e >= 31) return sign | 0x7C00u;
    uint shift;
    uint base;
    if (e <= 0) {
        if (e < -10) return sign;
        mantissa |= 0x800000u;
        shift = uint(14 - e);
        base = 0u;
    } else {
        shift = 13u;
        base = uint(e) << 10;
    }
    uint kept = base | (mantissa >> shift);
    uint rest = mantissa & ((1u << shift) - 1u);
    uint halfway = 1u << (shift - 1u);
    if (rest > halfway || (rest == halfway && (kept & 1u) != 0u)) kept += 1u;
    return sign | kept;
}

// float32 bits -> bfloat16 bits, round to nearest even.
uint te_bfloat_from_bits(uint x) {
    if ((x & 0x7F800000u) == 0x7F800000u && (x & 0x7FFFFFu) != 0u) return (x >> 16) | 0x40u;
    return (x + 0x7FFFu + ((x >> 16) & 1u)) >> 16;
}

// A 16-bit element's value (its bits in the low half of `wide`) for storage type `type`
// (TE_DTYPE_FLOAT16 or TE_DTYPE_BFLOAT16): exact.
float te_from_16(uint wide, uint type) {
    return uintBitsToFloat(type == uint(TE_DTYPE_BFLOAT16) ? wide << 16 : te_bits_from_half(wide));
}

// `v` rounded to nearest even in storage type `type`, as 16 bits in the low half.
uint te_to_16(float v, uint type) {
    uint bits = floatBitsToUint(v);
    return type == uint(TE_DTYPE_BFLOAT16) ? te_bfloat_from_bits(bits) : te_half_from_bits(bits);
}

// The storage16 variants of the elementwise kernels: bindings 0, 1 (inputs) and 2 (output)
// each hold float32, float16 or bfloat16, as the specialisation constant IO_TYPES says
// (OperandTypes.kernelCode: the DType codes of binding 0 in bits 0-7, binding 1 in 8-15,
// binding 2 in 16-23). A 16-bit operand is declared again over its binding as raw 16-bit
// words. Needs GL_EXT_shader_16bit_storage (enabled by the including shader).
#define TE_STORAGE16_BINDINGS(constantId) \
    layout(constant_id = constantId) const uint IO_TYPES = 0u; \
    const uint TE_TYPE_0 = IO_TYPES & 0xFFu; \
    const uint TE_TYPE_1 = (IO_TYPES >> 8) & 0xFFu; \
    const uint TE_TYPE_2 = (IO_TYPES >> 16) & 0xFFu; \
    layout(std430, binding = 0) readonly buffer In0Storage16 { uint16_t in0_16[]; }; \
    layout(std430, binding = 1) readonly buffer In1Storage16 { uint16_t in1_16[]; }; \
    layout(std430, binding = 2) writeonly buffer OutStorage16 { uint16_t out_16[]; };

// The storage16 variants of the one-input kernels (unary, scale-shift, sum): binding 0 (input)
// and binding 1 (output) each hold float32, float16 or bfloat16 as IO_TYPES says
// (OperandTypes.kernelCode: the input's DType code in bits 0-7, the output's in bits 16-23).
#define TE_STORAGE16_IN_OUT_BINDINGS(constantId) \
    layout(constant_id = constantId) const uint IO_TYPES = 0u; \
    const uint TE_TYPE_IN = IO_TYPES & 0xFFu; \
    const uint TE_TYPE_OUT = (IO_TYPES >> 16) & 0xFFu; \
    layout(std430, binding = 0) readonly buffer InStorage16 { uint16_t in_16[]; }; \
    layout(std430, binding = 1) writeonly buffer OutStorage16 { uint16_t out_16[]; };

#endif
