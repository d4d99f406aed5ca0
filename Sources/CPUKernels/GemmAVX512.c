// The packed SGEMM for x86-64 CPUs with AVX-512 (F, BW, VL, DQ): GemmBody.h with a 12 x 32
// register tile (24 zmm accumulators). Only these functions are compiled for AVX-512 (target
// attributes, no -march flags); KernelDispatch.c checks the CPU and the arguments.

#include "ISAKernels.h"

#if defined(__x86_64__)
#define TE_GEMM_BITS 512
#define TE_GEMM_ENTRY(name) name##_avx512
#include "GemmBody.h"
#endif
