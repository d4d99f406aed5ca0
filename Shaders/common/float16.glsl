// float16 and bfloat16 <-> float32, on bits: float16 -> float32 is exact (subnormal halves
// included, whatever the device does with denormals); float32 -> 16 bits rounds to nearest
// even (overflow to infinity, NaN stays a quiet NaN). Shared by the cast kernel (which packs
// 16-bit values into 32-bit words itself) and the kernels' 16-bit storage variants.
#ifndef TE_FLOAT16_GLSL
#define TE_FLOAT16_GLSL

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

#endif
