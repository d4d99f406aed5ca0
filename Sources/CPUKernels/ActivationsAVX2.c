// Activation kernels for x86-64 CPUs with AVX2 and FMA: ActivationBodies.h over 256-bit
// registers. Only these functions are compiled for AVX2 + FMA (target attributes, no -march
// flags); KernelDispatch.c calls them only where the CPU has AVX2 + FMA.

#include "ISAKernels.h"

#if defined(__x86_64__)
#define TE_VECTOR_BITS 256
#define TE_ENTRY(name) name##_avx2
#include "VectorFloat.h"
#include "ActivationBodies.h"
#endif
