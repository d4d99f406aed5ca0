#version 450
#extension GL_GOOGLE_include_directive : require
//! variant storage16: TE_STORAGE16=1
#ifdef TE_STORAGE16
#extension GL_EXT_shader_16bit_storage : require
#endif
// LayerNorm (CENTERED != 0) or RMSNorm (CENTERED == 0) over the rows of a contiguous
// [rows, columns] x (BackendOp.layerNorm / .rmsNorm): per row mean (LayerNorm only) and
// rstd = 1 / sqrt(var + epsilon), and y = (x - mean) * rstd * w + b.
// The 256 lanes of a workgroup are split into segments of ROW_LANES lanes (32...256, a
// power of two), one row per segment: short rows do not leave most lanes idle. Each lane
// sums a strided share of its row; a shared-memory tree per segment adds the shares (every
// lane runs the same number of barriers: the row loop is uniform over the workgroup).
// Statistics are a corrected two-pass: m0 = sum(x)/n, then the sums of d = x - m0 and d^2
// give mean = m0 + sum(d)/n and var = sum(d^2)/n - (sum(d)/n)^2; y is computed from
// (x - m0) - sum(d)/n, so a large mean (1e4 + noise) costs no precision.
// Bindings 1 and 2 (weight, bias) are read only when HAS_WEIGHT / HAS_BIAS; binding 4
// (mean) is written only when CENTERED.
// The storage16 variant reads x and writes y as float32, float16 or bfloat16 (constant 4:
// OperandTypes.kernelCode, x's type in bits 0-7, y's in 16-23): float32 arithmetic, y
// rounded once to nearest even; weight, bias, mean and rstd stay float32.
layout(local_size_x = 256, local_size_y = 1, local_size_z = 1) in;
layout(constant_id = 0) const uint CENTERED = 1;
layout(constant_id = 1) const uint HAS_WEIGHT = 1;
layout(constant_id = 2) const uint HAS_BIAS = 1;
layout(constant_id = 3) const uint ROW_LANES = 256;

layout(std430, binding = 0) readonly buffer In { float x[]; };
layout(std430, binding = 1) readonly buffer Weight { float w[]; };
layout(std430, binding = 2) readonly buffer Bias { float b[]; };
layout(std430, binding = 3) writeonly buffer Out { float y[]; };
layout(std430, binding = 4) writeonly buffer Mean { float meanOut[]; };
layout(std430, binding = 5) writeonly buffer Rstd { float rstdOut[]; };
#ifdef TE_STORAGE16
#include "float16.glsl"
layout(constant_id = 4) const uint IO_TYPES = 0u;
const uint TYPE_X = IO_TYPES & 0xFFu;
const uint TYPE_Y = (IO_TYPES >> 16) & 0xFFu;
layout(std430, binding = 0) readonly buffer In16 { uint16_t x16[]; };
layout(std430, binding = 3) writeonly buffer Out16 { uint16_t y16[]; };
float load(uint i) { return TYPE_X == uint(TE_DTYPE_FLOAT32) ? x[i] : te_from_16(uint(x16[i]), TYPE_X); }
void store(uint i, float v) {
    if (TYPE_Y == uint(TE_DTYPE_FLOAT32)) y[i] = v; else y16[i] = uint16_t(te_to_16(v, TYPE_Y));
}
#else
float load(uint i) { return x[i]; }
void store(uint i, float v) { y[i] = v; }
#endif
layout(push_constant) uniform Params { uint rows; uint columns; float epsilon; } p;

shared vec2 partial[256];

// The sum of `value` over the lane's segment (every lane of the workgroup must call it).
vec2 segmentSum(vec2 value, uint segmentBase, uint lane) {
    partial[segmentBase + lane] = value;
    barrier();
    for (uint width = ROW_LANES / 2u; width > 0u; width /= 2u) {
        if (lane < width) partial[segmentBase + lane] += partial[segmentBase + lane + width];
        barrier();
    }
    vec2 total = partial[segmentBase];
    barrier();
    return total;
}

void main() {
    const uint rowsPerGroup = 256u / ROW_LANES;
    uint lane = gl_LocalInvocationID.x % ROW_LANES;
    uint segment = gl_LocalInvocationID.x / ROW_LANES;
    uint segmentBase = segment * ROW_LANES;
    float n = float(p.columns);
    for (uint first = gl_WorkGroupID.x * rowsPerGroup; first < p.rows; first += gl_NumWorkGroups.x * rowsPerGroup) {
        uint row = first + segment;
        bool live = row < p.rows;
        uint base = row * p.columns;
        float m0 = 0.0;
        if (CENTERED != 0u) {
            float s = 0.0;
            if (live) for (uint c = lane; c < p.columns; c += ROW_LANES) s += load(base + c);
            m0 = segmentSum(vec2(s, 0.0), segmentBase, lane).x / n;
        }
        vec2 s = vec2(0.0);
        if (live) {
            for (uint c = lane; c < p.columns; c += ROW_LANES) {
                float d = load(base + c) - m0;
                s += vec2(d, d * d);
            }
        }
        s = segmentSum(s, segmentBase, lane);
        float correction = CENTERED != 0u ? s.x / n : 0.0;
        float variance = max(s.y / n - correction * correction, 0.0);
        float rstd = 1.0 / sqrt(variance + p.epsilon);
        if (live) {
            if (lane == 0u) {
                if (CENTERED != 0u) meanOut[row] = m0 + correction;
                rstdOut[row] = rstd;
            }
            for (uint c = lane; c < p.columns; c += ROW_LANES) {
                float v = ((load(base + c) - m0) - correction) * rstd;
                if (HAS_WEIGHT != 0u) v *= w[c];
                if (HAS_BIAS != 0u) v += b[c];
                store(base + c, v);
            }
        }
    }
}
