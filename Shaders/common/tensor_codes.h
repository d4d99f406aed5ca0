// The one table of op and activation codes, shared by Swift (TensorCore imports it through
// the TensorCodes C module: Activation.kernelCode, BinaryOp.kernelCode, UnaryOp.kernelCode),
// the C kernels (Sources/CPUKernels) and the GLSL shaders (#include "tensor_codes.h"). Both
// builds compile every user from this file, so a code cannot drift between languages.
// Only #define lines with integer literals: the file must parse as C and as GLSL.
#ifndef TE_TENSOR_CODES_H
#define TE_TENSOR_CODES_H

// Activation (TensorCore/Activation.swift).
#define TE_ACT_IDENTITY 0
#define TE_ACT_RELU 1
#define TE_ACT_LEAKY_RELU 2
#define TE_ACT_GELU 3
#define TE_ACT_GELU_TANH 4
#define TE_ACT_SILU 5
#define TE_ACT_MISH 6
#define TE_ACT_TANH 7
#define TE_ACT_SIGMOID 8
#define TE_ACT_SOFTPLUS 9
#define TE_ACT_ELU 10
#define TE_ACT_COUNT 11

// BinaryOp (TensorCore/ElementwiseOps.swift).
#define TE_BINARY_ADD 0
#define TE_BINARY_SUB 1
#define TE_BINARY_MUL 2
#define TE_BINARY_DIV 3
#define TE_BINARY_MAXIMUM 4
#define TE_BINARY_MINIMUM 5
// Comparisons: float32 1 where true, 0 where false; NaN compares false except notEqual.
#define TE_BINARY_EQUAL 6
#define TE_BINARY_NOT_EQUAL 7
#define TE_BINARY_LESS 8
#define TE_BINARY_LESS_EQUAL 9
#define TE_BINARY_GREATER 10
#define TE_BINARY_GREATER_EQUAL 11

// UnaryOp (TensorCore/ElementwiseOps.swift).
#define TE_UNARY_EXP 0
#define TE_UNARY_LOG 1
#define TE_UNARY_SQRT 2
#define TE_UNARY_ABS 3

// DType (TensorCore/DType.swift).
#define TE_DTYPE_FLOAT32 0
#define TE_DTYPE_FLOAT16 1
#define TE_DTYPE_BFLOAT16 2
#define TE_DTYPE_INT32 3
#define TE_DTYPE_UINT8 4

#endif
