// The packed SGEMM for x86-64 CPUs with AVX2 + FMA: GemmBody.h with a 6 x 16 register tile
// (12 ymm accumulators). Only these functions are compiled for AVX2 (target attributes, no
// -march flags); KernelDispatch.c checks the CPU and the arguments.

#include "ISAKernels.h"

#if defined(__x86_64__)
#define TE_GEMM_BITS 256
#define TE_GEMM_ENTRY(name) name##_avx2
#include "GemmBody.h"
#endif
