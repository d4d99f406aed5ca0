// Bindings, parameters and the fused epilogue shared by the matrix-product kernels.
// C[b] = op(A[b]) op(B[b]); A is [M, K] (or [K, M] when TRANS_A), B is [K, N] (or [N, K]
// when TRANS_B), row-major with leading dimensions lda / ldb; C is contiguous [batch, M, N].
// The epilogue writes activation(acc + bias[col]) and, when HAS_PRE != 0, acc + bias to
// `pre`, and, when FEWBIT_BITS > 0, the few-bit code of acc + bias (the number of table
// borders below it) into the LSB-first bit stream `codes` (zeroed beforehand) with atomic
// ORs: element i owns bits [i*b, (i+1)*b), which may straddle two words.
//
// The epilogue is data: its outputs are chosen by specialisation constants, not by
// compiled variants, so each kernel is one SPIR-V module whatever outputs a dispatch
// writes. The driver folds the branches on the constants when it creates the pipeline
// (the pipeline cache keys on them), so an unused output costs nothing at run time.
#ifndef TE_MATMUL_COMMON_GLSL
#define TE_MATMUL_COMMON_GLSL
#include "activation.glsl"
#include "float16.glsl"   // used by the storage16 variants (unused functions are not emitted)

layout(constant_id = 16) const uint TRANS_A = 0;
layout(constant_id = 17) const uint TRANS_B = 0;
layout(constant_id = 18) const uint HAS_BIAS = 0;
layout(constant_id = 19) const int ACT = 0;

layout(std430, binding = 0) readonly buffer MatA { float a[]; };
layout(std430, binding = 1) readonly buffer MatB { float b[]; };
layout(std430, binding = 2) writeonly buffer MatC { float c[]; };
#ifdef TE_STORAGE16
// The 16-bit storage variant (a kernel's `storage16` variant, compiled with TE_STORAGE16 and
// GL_EXT_shader_16bit_storage, run only on devices with storageBuffer16BitAccess): A, B and C
// each hold float32, float16 or bfloat16, as IO_TYPES says (OperandTypes.kernelCode:
// the DType codes of A in bits 0-7, B 8-15, C 16-23). A 16-bit operand is declared a second
// time over the same binding as raw 16-bit words and converted on bits (float16 exactly,
// bfloat16 by a shift); C is rounded to nearest even when stored. Arithmetic stays float32.
layout(constant_id = 22) const uint IO_TYPES = 0u;
const uint TE_TYPE_A = IO_TYPES & 0xFFu;
const uint TE_TYPE_B = (IO_TYPES >> 8) & 0xFFu;
const uint TE_TYPE_C = (IO_TYPES >> 16) & 0xFFu;
layout(std430, binding = 0) readonly buffer MatA16 { uint16_t a16[]; };
layout(std430, binding = 1) readonly buffer MatB16 { uint16_t b16[]; };
layout(std430, binding = 2) writeonly buffer MatC16 { uint16_t c16[]; };

float te_load_a(uint i) { return TE_TYPE_A == uint(TE_DTYPE_FLOAT32) ? a[i] : te_from_16(uint(a16[i]), TE_TYPE_A); }
float te_load_b(uint i) { return TE_TYPE_B == uint(TE_DTYPE_FLOAT32) ? b[i] : te_from_16(uint(b16[i]), TE_TYPE_B); }
void te_write_c(uint i, float v) {
    if (TE_TYPE_C == uint(TE_DTYPE_FLOAT32)) {
        c[i] = v;
    } else {
        c16[i] = uint16_t(te_to_16(v, TE_TYPE_C));
    }
}
#else
float te_load_a(uint i) { return a[i]; }
float te_load_b(uint i) { return b[i]; }
void te_write_c(uint i, float v) { c[i] = v; }
#endif
layout(std430, binding = 3) readonly buffer Bias { float bias[]; };
// The optional outputs are declared always, at fixed bindings, so that every dispatch of a
// kernel has the same layout; the host binds a buffer it already writes to a slot the
// constants switch off (see MatmulKernel.swift: the slot is statically written, so a shared
// placeholder there would look written to synchronization validation).
layout(constant_id = 20) const uint HAS_PRE = 0;    // binding 4: acc + bias
layout(constant_id = 21) const uint FEWBIT_BITS = 0; // > 0: bindings 5 (codes) and 6 (borders)
layout(std430, binding = 4) writeonly buffer Pre { float pre[]; };
layout(std430, binding = 5) buffer Codes { uint codes[]; };
layout(std430, binding = 6) readonly buffer FewBitBorders { float borders[]; };

layout(push_constant) uniform MatmulParams {
    uint M;
    uint N;
    uint K;
    uint batch;
    uint lda;
    uint ldb;
    uint strideA;
    uint strideB;
    float actParam;
    uint kChunk;     // split-K: the k of each part but the last (K when not split)
} p;

// Element (row, k) of op(A) relative to the batch base.
uint te_index_a(uint row, uint k) { return TRANS_A != 0 ? k * p.lda + row : row * p.lda + k; }
// Element (k, col) of op(B) relative to the batch base.
uint te_index_b(uint k, uint col) { return TRANS_B != 0 ? col * p.ldb + k : k * p.ldb + col; }

void te_store_code(uint index, float v) {
    uint low = 0u, high = (1u << FEWBIT_BITS) - 1u;
    while (low < high) {
        uint middle = (low + high) >> 1;
        if (borders[middle] < v) low = middle + 1u; else high = middle;
    }
    uint bit = index * FEWBIT_BITS;
    uint word = bit >> 5, shift = bit & 31u;
    atomicOr(codes[word], low << shift);
    if (shift + FEWBIT_BITS > 32u) atomicOr(codes[word + 1u], low >> (32u - shift));
}

void te_store(uint index, uint col, float acc) {
    float v = acc;
    if (HAS_BIAS != 0) v += bias[col];
    if (HAS_PRE != 0u) pre[index] = v;
    if (FEWBIT_BITS != 0u) te_store_code(index, v);
    te_write_c(index, te_activate(ACT, v, p.actParam));
}

#endif
