// Few-bit codes on x86-64 CPUs with AVX2 and FMA: the encoder (code = number of borders
// below z, packed LSB-first, b bits per code) and the decoder (grad_in = grad_out *
// levels[code]). The bit layout is FewBitCodes' (TensorCore): every run of 32 codes fills
// exactly b 32-bit words, so a run is encoded or decoded on its own.
//
// Encode: up to 15 borders (b <= 4) are compared with all eight lanes at once and the
// comparisons summed; more borders take a branch-free binary search with gathers (b steps).
// The 32 codes of a run are then packed through a 64-bit accumulator. Decode: the b words
// of a run sit in one register; each lane picks its word and the next with a permute and
// shifts its code out (codes that straddle two words included), then the level comes
// from a permute (b <= 4) or a gather. Only these functions are compiled for AVX2 + FMA
// (target attributes); KernelDispatch.c checks the CPU and the arguments.

#include "ISAKernels.h"

#if defined(__x86_64__)

#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define KERNEL static inline __attribute__((always_inline, target("avx2,fma")))

enum { RUN = 32 };

/// Codes of eight values: the number of borders b with z > b (NaN: 0). `padded` holds the
/// borders followed by +inf up to 2^bits entries (for the binary search).
KERNEL __m256i codes8(__m256 z, const float *borders, int count, const float *padded, int bits) {
    if (count <= 15) {
        __m256i code = _mm256_setzero_si256();
        for (int k = 0; k < count; k++) {
            const __m256 above = _mm256_cmp_ps(z, _mm256_broadcast_ss(borders + k), _CMP_GT_OQ);
            code = _mm256_sub_epi32(code, _mm256_castps_si256(above));   // true is -1
        }
        return code;
    }
    __m256i position = _mm256_setzero_si256();
    for (int step = 1 << (bits - 1); step >= 1; step >>= 1) {
        const __m256i candidate = _mm256_add_epi32(position, _mm256_set1_epi32(step - 1));
        const __m256 border = _mm256_i32gather_ps(padded, candidate, 4);
        const __m256 above = _mm256_cmp_ps(z, border, _CMP_GT_OQ);
        position = _mm256_add_epi32(position, _mm256_and_si256(_mm256_castps_si256(above), _mm256_set1_epi32(step)));
    }
    return position;
}

/// Packs `n` codes (n <= 32) into the words from `out`, LSB first; returns the words written.
KERNEL long pack(const int32_t *codes, long n, int bits, uint32_t *out) {
    uint64_t accumulator = 0;
    int filled = 0;
    long word = 0;
    for (long i = 0; i < n; i++) {
        accumulator |= (uint64_t)(uint32_t)codes[i] << filled;
        filled += bits;
        if (filled >= 32) {
            out[word++] = (uint32_t)accumulator;
            accumulator >>= 32;
            filled -= 32;
        }
    }
    if (filled > 0) out[word++] = (uint32_t)accumulator;
    return word;
}

__attribute__((target("avx2,fma")))
static void encode(const float *x, const float *bias, long columns, long column, const float *borders, int count,
                   int bits, uint32_t *words, long start, long n) {
    float padded[256];
    const int size = 1 << bits;
    for (int k = 0; k < size; k++) padded[k] = k < count ? borders[k] : INFINITY;
    uint32_t *out = words + start / RUN * bits;
    float z[RUN];
    int32_t codes[RUN];
    for (long i0 = 0; i0 < n; i0 += RUN) {
        const long length = n - i0 < RUN ? n - i0 : RUN;
        const float *values = x + i0;
        if (bias) {
            // z = x + bias[column]: whole vectors where the run does not wrap to the next row.
            long j = 0;
            for (; j + 8 <= length && column + 8 <= columns; j += 8) {
                _mm256_storeu_ps(z + j, _mm256_add_ps(_mm256_loadu_ps(values + j), _mm256_loadu_ps(bias + column)));
                column += 8;
                if (column == columns) column = 0;
            }
            for (; j < length; j++) {
                z[j] = values[j] + bias[column];
                if (++column == columns) column = 0;
            }
            values = z;
        }
        long j = 0;
        for (; j + 8 <= length; j += 8) {
            _mm256_storeu_si256((__m256i *)(codes + j), codes8(_mm256_loadu_ps(values + j), borders, count, padded, bits));
        }
        for (; j < length; j++) {
            int32_t code = 0;
            for (int k = 0; k < count; k++) code += values[j] > borders[k];
            codes[j] = code;
        }
        out += pack(codes, length, bits, out);
    }
}

/// The levels of eight codes: permutes for up to 16 levels, a gather beyond.
KERNEL __m256 levels8(__m256i code, __m256 low, __m256 high, const float *padded, int bits) {
    if (bits <= 3) return _mm256_permutevar8x32_ps(low, code);
    if (bits == 4) {
        const __m256 fromHigh = _mm256_castsi256_ps(_mm256_slli_epi32(code, 28));   // sign = bit 3
        return _mm256_blendv_ps(_mm256_permutevar8x32_ps(low, code), _mm256_permutevar8x32_ps(high, code), fromHigh);
    }
    return _mm256_i32gather_ps(padded, code, 4);
}

__attribute__((target("avx2,fma")))
static void decode(const float *levels, int bits, const uint32_t *words, long start, const float *gradOut,
                   float *gradIn, long n) {
    float padded[256] = {0};
    for (int k = 0; k < (1 << bits); k++) padded[k] = levels[k];
    const __m256 low = _mm256_loadu_ps(padded), high = _mm256_loadu_ps(padded + 8);
    const __m256i mask = _mm256_set1_epi32((1 << bits) - 1);
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const uint32_t *in = words + start / RUN * bits;
    long i0 = 0;
    for (; i0 + RUN <= n; i0 += RUN, in += bits) {
        uint32_t run[8] = {0};
        memcpy(run, in, (size_t)bits * sizeof(uint32_t));
        const __m256i packed = _mm256_loadu_si256((const __m256i *)run);
        for (int g = 0; g < RUN / 8; g++) {
            // Stream bit of each lane's code, its word, and the shift within the word.
            const __m256i bit = _mm256_mullo_epi32(_mm256_add_epi32(lane, _mm256_set1_epi32(8 * g)), _mm256_set1_epi32(bits));
            const __m256i word = _mm256_srli_epi32(bit, 5), shift = _mm256_and_si256(bit, _mm256_set1_epi32(31));
            const __m256i first = _mm256_permutevar8x32_epi32(packed, word);
            const __m256i second = _mm256_permutevar8x32_epi32(packed, _mm256_add_epi32(word, _mm256_set1_epi32(1)));
            // A shift by 32 gives 0 (the code lies in one word); b = 8 never straddles, so its
            // wrapped `second` only contributes bits above the mask.
            const __m256i code = _mm256_and_si256(mask, _mm256_or_si256(
                _mm256_srlv_epi32(first, shift), _mm256_sllv_epi32(second, _mm256_sub_epi32(_mm256_set1_epi32(32), shift))));
            const long i = i0 + 8 * g;
            _mm256_storeu_ps(gradIn + i, _mm256_mul_ps(_mm256_loadu_ps(gradOut + i), levels8(code, low, high, padded, bits)));
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

void te_fewbit_encode_avx2(const float *x, const float *bias, long columns, long column, const float *borders,
                           int count, int bits, unsigned int *words, long start, long n) {
    encode(x, bias, columns, column, borders, count, bits, words, start, n);
}

void te_fewbit_decode_avx2(const float *levels, int bits, const unsigned int *words, long start, const float *gradOut,
                           float *gradIn, long n) {
    decode(levels, bits, words, start, gradOut, gradIn, n);
}

#endif
