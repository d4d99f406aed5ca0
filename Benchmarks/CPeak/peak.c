#include "CPeak.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define TE_ACCUMULATORS 12

__attribute__((target("avx512f")))
static double fma512(long iterations) {
    __m512 acc[TE_ACCUMULATORS];
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < TE_ACCUMULATORS; ++i) acc[i] = _mm512_set1_ps((float)i);
    for (long n = 0; n < iterations; ++n)
        for (int i = 0; i < TE_ACCUMULATORS; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    __m512 sum = acc[0];
    for (int i = 1; i < TE_ACCUMULATORS; ++i) sum = _mm512_add_ps(sum, acc[i]);
    volatile float sink = _mm512_reduce_add_ps(sum);
    (void)sink;
    return 2.0 * 16 * TE_ACCUMULATORS * (double)iterations;
}

__attribute__((target("avx2,fma")))
static double fma256(long iterations) {
    __m256 acc[TE_ACCUMULATORS];
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < TE_ACCUMULATORS; ++i) acc[i] = _mm256_set1_ps((float)i);
    for (long n = 0; n < iterations; ++n)
        for (int i = 0; i < TE_ACCUMULATORS; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    __m256 sum = acc[0];
    for (int i = 1; i < TE_ACCUMULATORS; ++i) sum = _mm256_add_ps(sum, acc[i]);
    float lanes[8];
    _mm256_storeu_ps(lanes, sum);
    volatile float sink = lanes[0];
    (void)sink;
    return 2.0 * 8 * TE_ACCUMULATORS * (double)iterations;
}
#endif

static double fmaScalar(long iterations) {
    float acc[32];
    for (int i = 0; i < 32; ++i) acc[i] = (float)i;
    for (long n = 0; n < iterations; ++n)
        for (int i = 0; i < 32; ++i) acc[i] = acc[i] * 0.999999f + 1e-7f;
    volatile float sink = acc[0] + acc[31];
    (void)sink;
    return 2.0 * 32 * (double)iterations;
}

int te_peak_fma_lanes(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return 16;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 8;
#endif
    return 4;
}

double te_peak_fma(long iterations) {
#if defined(__x86_64__)
    switch (te_peak_fma_lanes()) {
    case 16: return fma512(iterations);
    case 8: return fma256(iterations);
    default: break;
    }
#endif
    return fmaScalar(iterations);
}
