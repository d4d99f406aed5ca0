#version 450
#extension GL_GOOGLE_include_directive : require
// Attention backward, queries (BackendOp.attentionBackward): one workgroup per block of 64
// queries of one (batch, head), one query per lane holding q_i, dO_i, D_i = dO_i . O_i and
// lse_i; keys and values go through shared memory 16 rows at a time. Per (i, j):
// p = exp(s - lse_i), dS = p (dO_i . v_j - D_i), dQ_i += dS k_j, scaled at the end.
#include "attention.glsl"

layout(std430, binding = 4) readonly buffer O { float o[]; };
layout(std430, binding = 5) readonly buffer Lse { float lse[]; };
layout(std430, binding = 6) readonly buffer GradOut { float gradOut[]; };
layout(std430, binding = 7) writeonly buffer GradQ { float gradQ[]; };

shared float kTile[ATT_TILE * ATT_MAX_DIM];
shared float vTile[ATT_TILE * ATT_MAX_DIM];

void main() {
    uint lane = gl_LocalInvocationID.x;
    uint blocks = (p.queryLength + ATT_LANES - 1u) / ATT_LANES;
    for (uint bh = gl_WorkGroupID.y; bh < p.batchHeads; bh += gl_NumWorkGroups.y) {
        for (uint block = gl_WorkGroupID.x; block < blocks; block += gl_NumWorkGroups.x) {
            uint first = block * ATT_LANES;
            uint i = first + lane;
            bool valid = i < p.queryLength;
            uint row = bh * p.queryLength + (valid ? i : first);
            float qv[ATT_MAX_DIM];
            float gv[ATT_MAX_DIM];
            float dq[ATT_MAX_DIM];
            for (uint d = 0u; d < p.headDim; ++d) { qv[d] = q[row * p.headDim + d] * p.scale; dq[d] = 0.0; }
            float delta = 0.0;
            for (uint d = 0u; d < p.valueDim; ++d) {
                gv[d] = gradOut[row * p.valueDim + d];
                delta += gv[d] * o[row * p.valueDim + d];
            }
            float logSum = lse[row];
            float inverseNorm = valid ? att_inverse_norm(bh, i, logSum) : 1.0;
            uint keyEnd = p.causal != 0u ? min(p.keyLength, min(p.queryLength, first + ATT_LANES)) : p.keyLength;
            for (uint j0 = 0u; j0 < keyEnd; j0 += ATT_TILE) {
                uint count = min(uint(ATT_TILE), keyEnd - j0);
                barrier();
                uint keyRow = bh * p.keyLength + j0;
                for (uint e = lane; e < count * p.headDim; e += ATT_LANES) {
                    uint r = e / p.headDim, c = e % p.headDim;
                    kTile[r * ATT_MAX_DIM + c] = k[(keyRow + r) * p.headDim + c];
                }
                for (uint e = lane; e < count * p.valueDim; e += ATT_LANES) {
                    uint r = e / p.valueDim, c = e % p.valueDim;
                    vTile[r * ATT_MAX_DIM + c] = v[(keyRow + r) * p.valueDim + c];
                }
                barrier();
                if (valid) {
                    for (uint jj = 0u; jj < count; ++jj) {
                        uint j = j0 + jj;
                        if (p.causal != 0u && j > i) continue;
                        float dot = 0.0;
                        for (uint d = 0u; d < p.headDim; ++d) dot += qv[d] * kTile[jj * ATT_MAX_DIM + d];
                        float prob = att_exp(dot + att_mask(bh, i, j), logSum) * inverseNorm;
                        if (prob == 0.0) continue;
                        float dp = 0.0;
                        for (uint d = 0u; d < p.valueDim; ++d) dp += gv[d] * vTile[jj * ATT_MAX_DIM + d];
                        float ds = prob * (dp - delta);
                        for (uint d = 0u; d < p.headDim; ++d) dq[d] += ds * kTile[jj * ATT_MAX_DIM + d];
                    }
                }
            }
            if (valid) for (uint d = 0u; d < p.headDim; ++d) gradQ[row * p.headDim + d] = dq[d] * p.scale;
        }
    }
}
