// The activation kernels of ActivationsAVX512.c compiled again with eight registers in lockstep
// instead of four: the long transcendental chains (GELU's tail, the exps of SiLU, sigmoid,
// softplus and Mish) overlap better, measured 6-18% faster on Zen 5; the cheap or
// register-hungry ones (ReLU, tanh, ELU, GELU's derivative) are not, so KernelDispatch.c
// picks the variant per activation and pass.

#include "ISAKernels.h"

#if defined(__x86_64__)
#define TE_VECTOR_BITS 512
#define TE_WIDTH 8
#define TE_ENTRY(name) name##_avx512wide
#include "VectorFloat.h"
#include "ActivationBodies.h"
#endif
