#version 450
#extension GL_GOOGLE_include_directive : require
// Attention backward, keys and values (BackendOp.attentionBackward): one workgroup per block
// of 64 keys of one (batch, head), one key per lane; queries, their output gradients dO,
// log-sum-exps and D_i = dO_i . O_i go through shared memory 16 at a time. Per (i, j):
// p = exp(s - lse_i), dV_j += p dO_i, dS = p (dO_i . v_j - D_i), dK_j += dS q_i; dK is scaled
// at the end. Each lane owns its key's rows: no atomics, deterministic.
#include "attention.glsl"

layout(std430, binding = 4) readonly buffer O { float o[]; };
layout(std430, binding = 5) readonly buffer Lse { float lse[]; };
layout(std430, binding = 6) readonly buffer GradOut { float gradOut[]; };
layout(std430, binding = 7) writeonly buffer GradK { float gradK[]; };
layout(std430, binding = 8) writeonly buffer GradV { float gradV[]; };

shared float qTile[ATT_TILE * ATT_MAX_DIM];
shared float gTile[ATT_TILE * ATT_MAX_DIM];
shared float lseTile[ATT_TILE];
shared float deltaTile[ATT_TILE];
shared float normTile[ATT_TILE];

void main() {
    uint lane = gl_LocalInvocationID.x;
    uint blocks = (p.keyLength + ATT_LANES - 1u) / ATT_LANES;
    for (uint bh = gl_WorkGroupID.y; bh < p.batchHeads; bh += gl_NumWorkGroups.y) {
        for (uint block = gl_WorkGroupID.x; block < blocks; block += gl_NumWorkGroups.x) {
            uint first = block * ATT_LANES;
            uint j = first + lane;
            bool valid = j < p.keyLength;
            uint row = bh * p.keyLength + (valid ? j : first);
            float kv[ATT_MAX_DIM];
            float vv[ATT_MAX_DIM];
            float dk[ATT_MAX_DIM];
            float dv[ATT_MAX_DIM];
            for (uint d = 0u; d < p.headDim; ++d) { kv[d] = k[row * p.headDim + d]; dk[d] = 0.0; }
            for (uint d = 0u; d < p.valueDim; ++d) { vv[d] = v[row * p.valueDim + d]; dv[d] = 0.0; }
            // With causal masking, queries before this block see none of its keys.
            uint queryStart = p.causal != 0u ? min(first, p.queryLength) : 0u;
            for (uint i0 = queryStart; i0 < p.queryLength; i0 += ATT_TILE) {
                uint count = min(uint(ATT_TILE), p.queryLength - i0);
                barrier();
                uint queryRow = bh * p.queryLength + i0;
                for (uint e = lane; e < count * p.headDim; e += ATT_LANES) {
                    uint r = e / p.headDim, c = e % p.headDim;
                    qTile[r * ATT_MAX_DIM + c] = q[(queryRow + r) * p.headDim + c];
                }
                for (uint e = lane; e < count * p.valueDim; e += ATT_LANES) {
                    uint r = e / p.valueDim, c = e % p.valueDim;
                    gTile[r * ATT_MAX_DIM + c] = gradOut[(queryRow + r) * p.valueDim + c];
                }
                if (lane < count) {
                    uint r = queryRow + lane;
                    float delta = 0.0;
                    for (uint d = 0u; d < p.valueDim; ++d) delta += gradOut[r * p.valueDim + d] * o[r * p.valueDim + d];
                    deltaTile[lane] = delta;
                    lseTile[lane] = lse[r];
                    normTile[lane] = att_inverse_norm(bh, i0 + lane, lse[r]);
                }
                barrier();
                if (valid) {
                    for (uint ii = 0u; ii < count; ++ii) {
                        uint i = i0 + ii;
                        if (p.causal != 0u && j > i) continue;
                        float dot = 0.0;
                        for (uint d = 0u; d < p.headDim; ++d) dot += qTile[ii * ATT_MAX_DIM + d] * p.scale * kv[d];
                        float prob = att_exp(dot + att_mask(bh, i, j), lseTile[ii]) * normTile[ii];
                        if (prob == 0.0) continue;
                        float dp = 0.0;
                        for (uint d = 0u; d < p.valueDim; ++d) {
                            float g = gTile[ii * ATT_MAX_DIM + d];
                            dv[d] += prob * g;
                            dp += g * vv[d];
                        }
                        float ds = prob * (dp - deltaTile[ii]);
                        for (uint d = 0u; d < p.headDim; ++d) dk[d] += ds * qTile[ii * ATT_MAX_DIM + d];
                    }
                }
            }
            if (valid) {
                for (uint d = 0u; d < p.headDim; ++d) gradK[row * p.headDim + d] = dk[d] * p.scale;
                for (uint d = 0u; d < p.valueDim; ++d) gradV[row * p.valueDim + d] = dv[d];
            }
        }
    }
}
