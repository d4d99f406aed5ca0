// Few-bit codes on x86-64 CPUs with AVX-512 (F, BW, VL, DQ) and BMI2: the layout and the
// algorithms of FewBitAVX2.c over 16 lanes, with two changes:
// - encode packs eight codes at a time with one PEXT (codes narrowed to bytes; eight b-bit
//   codes are exactly b bytes of the LSB-first stream), instead of a code-by-code shift loop;
// - decode looks levels up with one permute for up to 16 levels and a two-register permute
//   for 32, a gather beyond.
// Only these functions are compiled for AVX-512 + BMI2 (target attributes); KernelDispatch.c
// checks the CPU and the arguments.

#include "ISAKernels.h"

#if defined(__x86_64__)

#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define TARGET "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,bmi2"
#define KERNEL static inline __attribute__((always_inline, target(TARGET)))

enum { RUN = 32 };

/// Codes of sixteen values: the number of borders b with z > b (NaN: 0). `padded` holds the
/// borders followed by +inf up to 2^bits entries (for the binary search).
KERNEL __m512i codes16(__m512 z, const float *borders, int count, const float *padded, int bits) {
    const __m512i one = _mm512_set1_epi32(1);
    if (count <= 15) {
        __m512i code = _mm512_setzero_si512();
        for (int k = 0; k < count; k++) {
            const __mmask16 above = _mm512_cmp_ps_mask(z, _mm512_set1_ps(borders[k]), _CMP_GT_OQ);
            code = _mm512_mask_add_epi32(code, above, code, one);
        }
        return code;
    }
    __m512i position = _mm512_setzero_si512();
    for (int step = 1 << (bits - 1); step >= 1; step >>= 1) {
        const __m512i candidate = _mm512_add_epi32(position, _mm512_set1_epi32(step - 1));
        const __m512 border = _mm512_i32gather_ps(candidate, padded, 4);
        const __mmask16 above = _mm512_cmp_ps_mask(z, border, _CMP_GT_OQ);
        position = _mm512_mask_add_epi32(position, above, position, _mm512_set1_epi32(step));
    }
    return position;
}

__attribute__((target(TARGET)))
void te_fewbit_encode_avx512(const float *x, const float *bias, long columns, long column, const float *borders,
                             int count, int bits, unsigned int *words, long start, long n) {
    float padded[256];
    const int size = 1 << bits;
    for (int k = 0; k < size; k++) padded[k] = k < count ? borders[k] : INFINITY;
    // b low bits of each of eight bytes.
    const uint64_t byteMask = 0x0101010101010101ull * (uint64_t)((1u << bits) - 1);
    uint32_t *out = words + start / RUN * bits;
    float z[RUN];
    for (long i0 = 0; i0 < n; i0 += RUN) {
        const long length = n - i0 < RUN ? n - i0 : RUN;
        const float *values = x + i0;
        if (bias) {
            // z = x + bias[column]: whole vectors where the run does not wrap to the next row.
            long j = 0;
            for (; j + 16 <= length && column + 16 <= columns; j += 16) {
                _mm512_storeu_ps(z + j, _mm512_add_ps(_mm512_loadu_ps(values + j), _mm512_loadu_ps(bias + column)));
                column += 16;
                if (column == columns) column = 0;
            }
            for (; j < length; j++) {
                z[j] = values[j] + bias[column];
                if (++column == columns) column = 0;
            }
            values = z;
        }
        // The run's codes as bytes (lanes past the end: 0), then b bytes per eight codes.
        uint8_t codes[RUN];
        for (int g = 0; g < RUN / 16; g++) {
            const long left = length - 16 * g;
            const __mmask16 m = left >= 16 ? (__mmask16)0xFFFF : left <= 0 ? (__mmask16)0 : (__mmask16)((1u << left) - 1);
            const __m512i c = codes16(_mm512_maskz_loadu_ps(m, values + 16 * g), borders, count, padded, bits);
            _mm_storeu_si128((__m128i *)(codes + 16 * g), _mm512_cvtepi32_epi8(_mm512_maskz_mov_epi32(m, c)));
        }
        uint8_t packed[RUN];   // b * 4 bytes used
        for (int q = 0; q < RUN / 8; q++) {
            uint64_t eight;
            memcpy(&eight, codes + 8 * q, 8);
            const uint64_t bitsOut = _pext_u64(eight, byteMask);
            memcpy(packed + q * bits, &bitsOut, (size_t)bits);
        }
        const long wordsOut = (length * bits + 31) / 32;
        memcpy(out, packed, (size_t)wordsOut * 4);
        out += wordsOut;
    }
}

__attribute__((target(TARGET)))
void te_fewbit_decode_avx512(const float *levels, int bits, const unsigned int *words, long start,
                             const float *gradOut, float *gradIn, long n) {
    float padded[256] = {0};
    for (int k = 0; k < (1 << bits); k++) padded[k] = levels[k];
    const __m512 low = _mm512_loadu_ps(padded), high = _mm512_loadu_ps(padded + 16);
    const __m512i mask = _mm512_set1_epi32((1 << bits) - 1);
    // Per group of 16 codes: each lane's word, the next word, and the shifts (the same every run).
    __m512i word[2], next[2], shift[2], back[2];
    for (int g = 0; g < 2; g++) {
        const __m512i bit = _mm512_mullo_epi32(
            _mm512_add_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                             _mm512_set1_epi32(16 * g)), _mm512_set1_epi32(bits));
        word[g] = _mm512_srli_epi32(bit, 5);
        next[g] = _mm512_add_epi32(word[g], _mm512_set1_epi32(1));
        shift[g] = _mm512_and_si512(bit, _mm512_set1_epi32(31));
        back[g] = _mm512_sub_epi32(_mm512_set1_epi32(32), shift[g]);
    }
    const uint32_t *in = words + start / RUN * bits;
    long i0 = 0;
    for (; i0 + RUN <= n; i0 += RUN, in += bits) {
        const __m512i packed = _mm512_maskz_loadu_epi32((__mmask16)((1u << bits) - 1), in);
        for (int g = 0; g < 2; g++) {
            // A shift by 32 gives 0 (the code lies in one word); the word after the run's last
            // is a zero lane.
            const __m512i first = _mm512_permutexvar_epi32(word[g], packed);
            const __m512i second = _mm512_permutexvar_epi32(next[g], packed);
            const __m512i code = _mm512_and_si512(mask, _mm512_or_si512(
                _mm512_srlv_epi32(first, shift[g]), _mm512_sllv_epi32(second, back[g])));
            __m512 level;
            if (bits <= 4) level = _mm512_permutexvar_ps(code, low);
            else if (bits == 5) level = _mm512_permutex2var_ps(low, code, high);
            else level = _mm512_i32gather_ps(code, padded, 4);
            const long i = i0 + 16 * g;
            _mm512_storeu_ps(gradIn + i, _mm512_mul_ps(_mm512_loadu_ps(gradOut + i), level));
        }
    }
    if (i0 < n) {
        // The last, partial run: one code at a time.
        uint64_t accumulator = 0;
        int available = 0;
        for (long i = i0; i < n; i++) {
            if (available < bits) {
                accumulator |= (uint64_t)*in++ << available;
                available += 32;
            }
            gradIn[i] = gradOut[i] * padded[accumulator & (uint64_t)((1 << bits) - 1)];
            accumulator >>= bits;
            available -= bits;
        }
    }
}

#endif
