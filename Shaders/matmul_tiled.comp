#version 450
#extension GL_GOOGLE_include_directive : require
// Register-blocked, shared-memory tiled matrix product with a fused epilogue.
//
// A workgroup computes a BM x BN tile of C; each of its WG = (BM/TM)(BN/TN) invocations
// keeps a TM x TN block of accumulators in registers, spaced BM/TM rows and BN/TN
// columns apart (conflict-free shared reads, coalesced stores). Per BK step the
// workgroup stages A (BM x BK) and B (BK x BN) in shared memory, reading global memory
// along each operand's contiguous dimension whatever its transposition.
// ALIGNED != 0 drops every bounds check (M % BM == N % BN == K % BK == 0).
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

shared float tileA[BK * BM];   // [k][m]
shared float tileB[BK * BN];   // [k][n]

void main() {
    const uint threadsN = BN / TN;
    const uint threadsM = BM / TM;
    uint tid = gl_LocalInvocationID.x;
    uint tCol = tid % threadsN;
    uint tRow = tid / threadsN;
    uint rowBase = gl_WorkGroupID.y * BM;
    uint colBase = gl_WorkGroupID.x * BN;

    for (uint batch = gl_WorkGroupID.z; batch < p.batch; batch += gl_NumWorkGroups.z) {
        uint baseA = batch * p.strideA;
        uint baseB = batch * p.strideB;

        float acc[TM * TN];
        [[unroll]] for (uint i = 0u; i < TM * TN; ++i) acc[i] = 0.0;

        for (uint k0 = 0u; k0 < p.K; k0 += BK) {
            [[unroll]] for (uint l = 0u; l < (BM * BK) / WG; ++l) {
                uint idx = tid + l * WG;
                uint r = TRANS_A != 0 ? idx % BM : idx / BK;
                uint kk = TRANS_A != 0 ? idx / BM : idx % BK;
                uint gr = rowBase + r;
                uint gk = k0 + kk;
                float v;
                if (ALIGNED != 0) {
                    v = a[baseA + te_index_a(gr, gk)];
                } else {
                    v = (gr < p.M && gk < p.K) ? a[baseA + te_index_a(gr, gk)] : 0.0;
                }
                tileA[kk * BM + r] = v;
            }
            [[unroll]] for (uint l = 0u; l < (BN * BK) / WG; ++l) {
                uint idx = tid + l * WG;
                uint cc = TRANS_B != 0 ? idx / BK : idx % BN;
                uint kk = TRANS_B != 0 ? idx % BK : idx / BN;
                uint gc = colBase + cc;
                uint gk = k0 + kk;
                float v;
                if (ALIGNED != 0) {
                    v = b[baseB + te_index_b(gk, gc)];
                } else {
                    v = (gc < p.N && gk < p.K) ? b[baseB + te_index_b(gk, gc)] : 0.0;
                }
                tileB[kk * BN + cc] = v;
            }
            barrier();

            [[unroll]] for (uint kk = 0u; kk < BK; ++kk) {
                float ar[TM];
                float br[TN];
                [[unroll]] for (uint i = 0u; i < TM; ++i) ar[i] = tileA[kk * BM + tRow + i * threadsM];
                [[unroll]] for (uint j = 0u; j < TN; ++j) br[j] = tileB[kk * BN + tCol + j * threadsN];
                [[unroll]] for (uint i = 0u; i < TM; ++i) {
                    [[unroll]] for (uint j = 0u; j < TN; ++j) {
                        acc[i * TN + j] = fma(ar[i], br[j], acc[i * TN + j]);
                    }
                }
            }
            barrier();
        }

        uint baseC = batch * p.M * p.N;
        [[unroll]] for (uint i = 0u; i < TM; ++i) {
            uint row = rowBase + tRow + i * threadsM;
            [[unroll]] for (uint j = 0u; j < TN; ++j) {
                uint col = colBase + tCol + j * threadsN;
                if (ALIGNED != 0 || (row < p.M && col < p.N)) {
                    te_store(baseC + row * p.N + col, col, acc[i * TN + j]);
                }
            }
        }
    }
}
