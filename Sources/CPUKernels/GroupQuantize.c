// Mesa's 8-bit group quantisation of one row (the rules of TensorCore's GroupQuantization):
// per group of `group_size` elements, scale = max|x| * factor and code = roundEven(x / scale)
// clamped to +-127 (0 for an all-zero group or a NaN quotient). One C body, compiled for
// AVX-512, for AVX2 and for the baseline; the compiler vectorises each (no intrinsics): the
// maximum runs on the magnitudes' bit patterns (integer order is float order for non-negative
// floats) and rounding adds 1.5 * 2^23, so no lane needs a libm call.

#include "CPUKernels.h"

#include <stdint.h>
#include <string.h>

static inline __attribute__((always_inline)) void quantize_row_body(const float *x, long columns, long group_size,
                                                                    float factor, signed char *codes, float *scales) {
    for (long first = 0, group = 0; first < columns; first += group_size, group++) {
        long length = columns - first < group_size ? columns - first : group_size;
        const float *v = x + first;
        uint32_t largest = 0;
        for (long j = 0; j < length; j++) {
            uint32_t bits;
            memcpy(&bits, v + j, sizeof bits);
            bits &= 0x7FFFFFFFu;
            largest = bits > largest ? bits : largest;
        }
        float top;
        memcpy(&top, &largest, sizeof top);
        float scale = top * factor;
        scales[group] = scale;
        signed char *out = codes + first;
        if (!(scale > 0)) {
            memset(out, 0, (size_t)length);
            continue;
        }
        for (long j = 0; j < length; j++) {
            float q = v[j] / scale;
            q = q == q ? q : 0.0f;
            q = q < -127.0f ? -127.0f : q > 127.0f ? 127.0f : q;
            float rounded = (q + 12582912.0f) - 12582912.0f;
            out[j] = (signed char)(int)rounded;
        }
    }
}

#if defined(__x86_64__)
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))
static void quantize_row_avx512(const float *x, long columns, long group_size, float factor, signed char *codes,
                                float *scales) {
    quantize_row_body(x, columns, group_size, factor, codes, scales);
}

__attribute__((target("avx2,fma")))
static void quantize_row_avx2(const float *x, long columns, long group_size, float factor, signed char *codes,
                              float *scales) {
    quantize_row_body(x, columns, group_size, factor, codes, scales);
}
#endif

void te_group_quantize_row(int isa, const float *x, long columns, long group_size, float factor, signed char *codes,
                           float *scales) {
    if (columns <= 0 || group_size <= 0) return;
#if defined(__x86_64__)
    if (isa >= TE_ISA_AVX512 && te_cpu_isa_supported(TE_ISA_AVX512)) {
        quantize_row_avx512(x, columns, group_size, factor, codes, scales);
        return;
    }
    if (isa >= TE_ISA_AVX2 && te_cpu_isa_supported(TE_ISA_AVX2)) {
        quantize_row_avx2(x, columns, group_size, factor, codes, scales);
        return;
    }
#endif
    (void)isa;
    quantize_row_body(x, columns, group_size, factor, codes, scales);
}
