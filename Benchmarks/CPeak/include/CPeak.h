// Machine-peak micro-benchmarks for tensorbench: a register-resident FMA loop and a
// streaming copy. The FMA loop is compiled for AVX2+FMA (and AVX-512 where available)
// by per-function target attributes and chosen at run time from the CPU's features.
#ifndef TENSORENGINE_CPEAK_H
#define TENSORENGINE_CPEAK_H

#include <stddef.h>

/// Runs `iterations` rounds of independent fused multiply-adds on one thread and returns
/// the number of floating-point operations done (2 per lane per FMA).
double te_peak_fma(long iterations);

/// The vector width the FMA loop used, in float lanes (4, 8 or 16), and whether it fused.
int te_peak_fma_lanes(void);

#endif
