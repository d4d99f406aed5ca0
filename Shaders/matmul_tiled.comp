#version 450
#extension GL_GOOGLE_include_directive : require
//! variant storage16: TE_STORAGE16=1
#ifdef TE_STORAGE16
#extension GL_EXT_shader_16bit_storage : require
#endif
// Register-blocked, tiled matrix product with a fused epilogue.
//
// A workgroup computes a BM x BN tile of C; each of its WG = (BM/TM)(BN/TN) invocations
// keeps a TM x TN block of accumulators in registers.
//
// STAGE_SHARED != 0 (GPUs): per BK step the workgroup stages A (BM x BK) and B (BK x BN)
// in shared memory, reading global memory along each operand's contiguous dimension
// whatever its transposition; the next step's operands are fetched into registers while
// the current step computes. An invocation owns rows in runs of 4 spaced 4 BM/TM apart
// (likewise columns), so it reads shared memory as vec4 (TM, TN multiples of 4). Rows of
// the shared tiles are padded by 4 floats against bank conflicts on the stores.
//
// STAGE_SHARED == 0 (CPU drivers such as lavapipe): no shared memory and no barriers;
// operands go straight from (cached) global memory into registers. An invocation owns
// rows tRow + i BM/TM and columns tCol + j BN/TN.
//
// ALIGNED != 0 drops every bounds check (M % BM == N % BN == K % BK == 0).
//
// SPLIT_K != 0 (split-K, one product, batch 1): workgroup layer z covers k in
// [z kChunk, min(K, (z + 1) kChunk)) (kChunk a multiple of BK) and stores its raw partial
// sums, float32 and without epilogue, at C[z][row][col]; Shaders/matmul_split_k_reduce.comp
// adds the layers and applies the epilogue.
#extension GL_EXT_control_flow_attributes : enable
#include "matmul_common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 256;
layout(constant_id = 1) const uint BM = 64;
layout(constant_id = 2) const uint BN = 64;
layout(constant_id = 3) const uint BK = 16;
layout(constant_id = 4) const uint TM = 4;
layout(constant_id = 5) const uint TN = 4;
layout(constant_id = 6) const uint ALIGNED = 0;
layout(constant_id = 7) const uint STAGE_SHARED = 1;
layout(constant_id = 8) const uint SPLIT_K = 0;

const uint PAD = 4u;
const uint STRIDE_A = BM + PAD;   // shared row stride of A tile ([k][m])
const uint STRIDE_B = BN + PAD;   // shared row stride of B tile ([k][n])
const uint LOADS_A = (BM * BK) / WG;
const uint LOADS_B = (BN * BK) / WG;

shared vec4 tileA[(BK * STRIDE_A) / 4];
shared vec4 tileB[(BK * STRIDE_B) / 4];

uint kEnd;   // the end of this workgroup's k range (K unless split)

// Fetches element l of this invocation's share of the A (or B) tile at k0 into a register.
float fetchA(uint l, uint k0, uint rowBase, uint baseA) {
    uint idx = gl_LocalInvocationID.x + l * WG;
    uint r = TRANS_A != 0 ? idx % BM : idx / BK;
    uint kk = TRANS_A != 0 ? idx / BM : idx % BK;
    uint gr = rowBase + r;
    uint gk = k0 + kk;
    if (ALIGNED != 0) return te_load_a(baseA + te_index_a(gr, gk));
    return (gr < p.M && gk < kEnd) ? te_load_a(baseA + te_index_a(gr, gk)) : 0.0;
}

float fetchB(uint l, uint k0, uint colBase, uint baseB) {
    uint idx = gl_LocalInvocationID.x + l * WG;
    uint cc = TRANS_B != 0 ? idx / BK : idx % BN;
    uint kk = TRANS_B != 0 ? idx % BK : idx / BN;
    uint gc = colBase + cc;
    uint gk = k0 + kk;
    if (ALIGNED != 0) return te_load_b(baseB + te_index_b(gk, gc));
    return (gc < p.N && gk < kEnd) ? te_load_b(baseB + te_index_b(gk, gc)) : 0.0;
}

void storeA(uint l, float v) {
    uint idx = gl_LocalInvocationID.x + l * WG;
    uint r = TRANS_A != 0 ? idx % BM : idx / BK;
    uint kk = TRANS_A != 0 ? idx / BM : idx % BK;
    uint s = kk * STRIDE_A + r;
    tileA[s / 4u][s % 4u] = v;
}

void storeB(uint l, float v) {
    uint idx = gl_LocalInvocationID.x + l * WG;
    uint cc = TRANS_B != 0 ? idx / BK : idx % BN;
    uint kk = TRANS_B != 0 ? idx % BK : idx / BN;
    uint s = kk * STRIDE_B + cc;
    tileB[s / 4u][s % 4u] = v;
}

void main() {
    const uint threadsN = BN / TN;
    const uint threadsM = BM / TM;
    uint tid = gl_LocalInvocationID.x;
    uint tCol = tid % threadsN;
    uint tRow = tid / threadsN;
    uint rowBase = gl_WorkGroupID.y * BM;
    uint colBase = gl_WorkGroupID.x * BN;

    uint kBegin = SPLIT_K != 0 ? gl_WorkGroupID.z * p.kChunk : 0u;
    kEnd = SPLIT_K != 0 ? min(p.K, kBegin + p.kChunk) : p.K;
    uint firstBatch = SPLIT_K != 0 ? 0u : gl_WorkGroupID.z;
    uint batchStep = SPLIT_K != 0 ? p.batch : gl_NumWorkGroups.z;

    for (uint batch = firstBatch; batch < p.batch; batch += batchStep) {
        uint baseA = batch * p.strideA;
        uint baseB = batch * p.strideB;

        float acc[TM * TN];
        [[unroll]] for (uint i = 0u; i < TM * TN; ++i) acc[i] = 0.0;

        if (STAGE_SHARED == 0) {
            uint rowLimit = ALIGNED != 0 ? BM : min(BM, p.M - min(p.M, rowBase));
            uint colLimit = ALIGNED != 0 ? BN : min(BN, p.N - min(p.N, colBase));
            for (uint k = kBegin; k < kEnd; ++k) {
                float ar[TM];
                float br[TN];
                [[unroll]] for (uint i = 0u; i < TM; ++i) {
                    uint r = tRow + i * threadsM;
                    ar[i] = (ALIGNED != 0 || r < rowLimit) ? te_load_a(baseA + te_index_a(rowBase + r, k)) : 0.0;
                }
                [[unroll]] for (uint j = 0u; j < TN; ++j) {
                    uint cc = tCol + j * threadsN;
                    br[j] = (ALIGNED != 0 || cc < colLimit) ? te_load_b(baseB + te_index_b(k, colBase + cc)) : 0.0;
                }
                [[unroll]] for (uint i = 0u; i < TM; ++i) {
                    [[unroll]] for (uint j = 0u; j < TN; ++j) {
                        acc[i * TN + j] = fma(ar[i], br[j], acc[i * TN + j]);
                    }
                }
            }
        } else {
            float nextA[LOADS_A];
            float nextB[LOADS_B];
            [[unroll]] for (uint l = 0u; l < LOADS_A; ++l) nextA[l] = fetchA(l, kBegin, rowBase, baseA);
            [[unroll]] for (uint l = 0u; l < LOADS_B; ++l) nextB[l] = fetchB(l, kBegin, colBase, baseB);
            for (uint k0 = kBegin; k0 < kEnd; k0 += BK) {
                [[unroll]] for (uint l = 0u; l < LOADS_A; ++l) storeA(l, nextA[l]);
                [[unroll]] for (uint l = 0u; l < LOADS_B; ++l) storeB(l, nextB[l]);
                barrier();
                if (k0 + BK < kEnd) {
                    // Prefetch the next step while this one computes.
                    [[unroll]] for (uint l = 0u; l < LOADS_A; ++l) nextA[l] = fetchA(l, k0 + BK, rowBase, baseA);
                    [[unroll]] for (uint l = 0u; l < LOADS_B; ++l) nextB[l] = fetchB(l, k0 + BK, colBase, baseB);
                }
                [[unroll]] for (uint kk = 0u; kk < BK; ++kk) {
                    vec4 av[TM / 4];
                    vec4 bv[TN / 4];
                    [[unroll]] for (uint q = 0u; q < TM / 4; ++q) {
                        av[q] = tileA[(kk * STRIDE_A + q * threadsM * 4u + tRow * 4u) / 4u];
                    }
                    [[unroll]] for (uint q = 0u; q < TN / 4; ++q) {
                        bv[q] = tileB[(kk * STRIDE_B + q * threadsN * 4u + tCol * 4u) / 4u];
                    }
                    [[unroll]] for (uint i = 0u; i < TM; ++i) {
                        [[unroll]] for (uint j = 0u; j < TN; ++j) {
                            acc[i * TN + j] = fma(av[i / 4u][i % 4u], bv[j / 4u][j % 4u], acc[i * TN + j]);
                        }
                    }
                }
                barrier();
            }
        }

        uint baseC = batch * p.M * p.N;
        [[unroll]] for (uint i = 0u; i < TM; ++i) {
            uint row = rowBase + (STAGE_SHARED != 0 ? (i / 4u) * threadsM * 4u + tRow * 4u + i % 4u
                                                    : tRow + i * threadsM);
            [[unroll]] for (uint j = 0u; j < TN; ++j) {
                uint col = colBase + (STAGE_SHARED != 0 ? (j / 4u) * threadsN * 4u + tCol * 4u + j % 4u
                                                        : tCol + j * threadsN);
                if (ALIGNED != 0 || (row < p.M && col < p.N)) {
                    if (SPLIT_K != 0) {
                        c[gl_WorkGroupID.z * p.M * p.N + row * p.N + col] = acc[i * TN + j];
                    } else {
                        te_store(baseC + row * p.N + col, col, acc[i * TN + j]);
                    }
                }
            }
        }
    }
}
