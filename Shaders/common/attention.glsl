// Shared by attention_forward.comp, attention_backward_kv.comp and attention_backward_q.comp
// (BackendOp.attentionForward / attentionBackward): the push constants, q/k/v/mask bindings
// 0-3 and the mask read. q is [BH, Lq, Dh], k [BH, Lk, Dh], v [BH, Lk, Dv], contiguous; the
// mask [B, H, Lq, Lk] is read through its strides (0 along broadcast axes), in place.
#define ATT_MAX_DIM 128     // AttentionGeometry.maxHeadDimension: q, k, v rows held per lane
#define ATT_LANES 64        // lanes per workgroup: one query (or key) each
#define ATT_TILE 16         // rows of the other side staged in shared memory per step

layout(local_size_x = ATT_LANES, local_size_y = 1, local_size_z = 1) in;

layout(std430, binding = 0) readonly buffer Q { float q[]; };
layout(std430, binding = 1) readonly buffer K { float k[]; };
layout(std430, binding = 2) readonly buffer V { float v[]; };
layout(std430, binding = 3) readonly buffer Mask { float maskValues[]; };

layout(push_constant) uniform Params {
    uint batchHeads;
    uint heads;
    uint queryLength;
    uint keyLength;
    uint headDim;
    uint valueDim;
    float scale;
    uint causal;        // 1: key j > query i is masked (top-left aligned)
    uint hasMask;
    uint maskOffset;
    uint maskStrides[4];
} p;

#define ATT_NEG_INF (-1.0 / 0.0)

// The additive mask of (batch * heads + h, query i, key j); 0 without a mask.
float att_mask(uint bh, uint i, uint j) {
    if (p.hasMask == 0u) return 0.0;
    uint b = bh / p.heads, h = bh % p.heads;
    return maskValues[p.maskOffset + b * p.maskStrides[0] + h * p.maskStrides[1] + i * p.maskStrides[2]
                      + j * p.maskStrides[3]];
}

// exp(s - shift), exactly 0 where s is -inf (also when shift is -inf).
float att_exp(float s, float shift) {
    return (s == ATT_NEG_INF || shift == ATT_NEG_INF) ? 0.0 : exp(s - shift);
}

// Below this log-sum-exp a row's scores are so negative (a -3.4e38 mask on every key) that
// lse = m + log(l) rounds to m, and exp(s - lse) sums to l instead of 1
// (CPUDevice.attentionSaturatedLogSumExp). The backward kernels then divide by the row's
// recomputed sum: 1 / sum_j exp(s_ij - lse_i), read from global memory (such rows are rare).
#define ATT_SATURATED_LSE (-4096.0)

float att_inverse_norm(uint bh, uint i, float logSum) {
    if (!(logSum < ATT_SATURATED_LSE) || logSum == ATT_NEG_INF) return 1.0;
    uint keyEnd = p.causal != 0u ? min(p.keyLength, i + 1u) : p.keyLength;
    float total = 0.0;
    for (uint j = 0u; j < keyEnd; ++j) {
        float dot = 0.0;
        for (uint d = 0u; d < p.headDim; ++d)
            dot += q[(bh * p.queryLength + i) * p.headDim + d] * p.scale * k[(bh * p.keyLength + j) * p.headDim + d];
        total += att_exp(dot + att_mask(bh, i, j), logSum);
    }
    return total > 0.0 ? 1.0 / total : 1.0;
}
