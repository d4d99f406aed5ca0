#version 450
#extension GL_GOOGLE_include_directive : require
//! variant storage16: TE_STORAGE16=1
#ifdef TE_STORAGE16
#extension GL_EXT_shader_16bit_storage : require
#endif
// Fused attention forward (BackendOp.attentionForward): one workgroup per block of 64
// queries of one (batch, head), one query per lane. Keys and values go through shared
// memory 16 rows at a time; each lane keeps its scaled query row, a running maximum m, a
// running sum l of exp(s - m) and the unnormalised output row, rescaled by exp(m_old - m_new)
// when the maximum grows (online softmax): the Lq x Lk scores are never stored. Writes
// output = acc / l and logSumExp = m + log(l); a row with every score -inf gives 0 and -inf.
// The storage16 variant reads q (constant 0: OperandTypes.kernelCode, bits 0-7), k and v
// (bits 8-15) and writes the output (bits 16-23) as float32, float16 or bfloat16: float32
// arithmetic, the output rounded once to nearest even; the mask and logSumExp stay float32.
#include "attention.glsl"

layout(std430, binding = 4) writeonly buffer Out { float outValues[]; };
layout(std430, binding = 5) writeonly buffer Lse { float lse[]; };

#ifdef TE_STORAGE16
#include "float16.glsl"
layout(constant_id = 0) const uint IO_TYPES = 0u;
const uint TYPE_Q = IO_TYPES & 0xFFu;
const uint TYPE_KV = (IO_TYPES >> 8) & 0xFFu;
const uint TYPE_OUT = (IO_TYPES >> 16) & 0xFFu;
layout(std430, binding = 0) readonly buffer Q16 { uint16_t q16[]; };
layout(std430, binding = 1) readonly buffer K16 { uint16_t k16[]; };
layout(std430, binding = 2) readonly buffer V16 { uint16_t v16[]; };
layout(std430, binding = 4) writeonly buffer Out16 { uint16_t out16[]; };
float loadQ(uint i) { return TYPE_Q == uint(TE_DTYPE_FLOAT32) ? q[i] : te_from_16(uint(q16[i]), TYPE_Q); }
float loadK(uint i) { return TYPE_KV == uint(TE_DTYPE_FLOAT32) ? k[i] : te_from_16(uint(k16[i]), TYPE_KV); }
float loadV(uint i) { return TYPE_KV == uint(TE_DTYPE_FLOAT32) ? v[i] : te_from_16(uint(v16[i]), TYPE_KV); }
void storeOut(uint i, float value) {
    if (TYPE_OUT == uint(TE_DTYPE_FLOAT32)) outValues[i] = value; else out16[i] = uint16_t(te_to_16(value, TYPE_OUT));
}
#else
float loadQ(uint i) { return q[i]; }
float loadK(uint i) { return k[i]; }
float loadV(uint i) { return v[i]; }
void storeOut(uint i, float value) { outValues[i] = value; }
#endif

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
            float acc[ATT_MAX_DIM];
            for (uint d = 0u; d < p.headDim; ++d) qv[d] = loadQ(row * p.headDim + d) * p.scale;
            for (uint d = 0u; d < p.valueDim; ++d) acc[d] = 0.0;
            float m = ATT_NEG_INF, l = 0.0;
            uint keyEnd = p.causal != 0u ? min(p.keyLength, min(p.queryLength, first + ATT_LANES)) : p.keyLength;
            for (uint j0 = 0u; j0 < keyEnd; j0 += ATT_TILE) {
                uint count = min(uint(ATT_TILE), keyEnd - j0);
                barrier();
                uint keyRow = bh * p.keyLength + j0;
                for (uint e = lane; e < count * p.headDim; e += ATT_LANES) {
                    uint r = e / p.headDim, c = e % p.headDim;
                    kTile[r * ATT_MAX_DIM + c] = loadK((keyRow + r) * p.headDim + c);
                }
                for (uint e = lane; e < count * p.valueDim; e += ATT_LANES) {
                    uint r = e / p.valueDim, c = e % p.valueDim;
                    vTile[r * ATT_MAX_DIM + c] = loadV((keyRow + r) * p.valueDim + c);
                }
                barrier();
                if (valid) {
                    float s[ATT_TILE];
                    float top = ATT_NEG_INF;
                    for (uint jj = 0u; jj < count; ++jj) {
                        uint j = j0 + jj;
                        float dot = 0.0;
                        for (uint d = 0u; d < p.headDim; ++d) dot += qv[d] * kTile[jj * ATT_MAX_DIM + d];
                        dot += att_mask(bh, i, j);
                        if (p.causal != 0u && j > i) dot = ATT_NEG_INF;
                        s[jj] = dot;
                        top = max(top, dot);
                    }
                    float next = max(m, top);
                    if (next != ATT_NEG_INF) {     // else nothing visible yet
                        float alpha = att_exp(m, next);
                        l *= alpha;
                        for (uint d = 0u; d < p.valueDim; ++d) acc[d] *= alpha;
                        for (uint jj = 0u; jj < count; ++jj) {
                            float pj = att_exp(s[jj], next);
                            l += pj;
                            for (uint d = 0u; d < p.valueDim; ++d) acc[d] += pj * vTile[jj * ATT_MAX_DIM + d];
                        }
                        m = next;
                    }
                }
            }
            if (valid) {
                float inverse = l > 0.0 ? 1.0 / l : 0.0;
                for (uint d = 0u; d < p.valueDim; ++d) storeOut(row * p.valueDim + d, acc[d] * inverse);
                lse[row] = l > 0.0 ? m + log(l) : ATT_NEG_INF;
            }
        }
    }
}
