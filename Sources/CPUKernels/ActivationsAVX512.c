// Activation kernels for x86-64 CPUs with AVX-512 F, BW, VL and DQ: ActivationBodies.h over
// 512-bit registers (16 lanes, k-register masks). Only these functions are compiled for
// AVX-512 (target attributes, no -march flags); KernelDispatch.c calls them only where the
// CPU and the OS support AVX-512.

#include "ISAKernels.h"

#if defined(__x86_64__)
#define TE_VECTOR_BITS 512
#define TE_ENTRY(name) name##_avx512
#include "VectorFloat.h"
#include "ActivationBodies.h"
#endif
