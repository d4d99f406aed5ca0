#version 450
// Backward of LayerNorm (CENTERED != 0) or RMSNorm (CENTERED == 0) over a contiguous
// [rows, columns] x, from the forward's per-row mean and rstd (BackendOp.layerNormBackward
// / .rmsNormBackward). Two passes of this shader, chosen by PASS:
// PASS 0, gradInput: segments of ROW_LANES lanes, one row each (as layer_norm.comp); with
//   xh = (x - mean) * rstd and g = dy * w, three segment sums give mean(g), mean(g * xh)
//   and c = mean(xh) (not 0 only by the stored mean's rounding to float; it is taken out,
//   so a large-mean row keeps its precision), then dx = rstd * (g - mean(g) - (xh - c) *
//   (mean(g * xh) - c * mean(g))). RMSNorm has no mean(g) and no c.
// PASS 1, gradWeight / gradBias: column sums over rows, computed apart because a row's
//   workgroup cannot add into them without float atomics (whose order, and so rounding,
//   varies run to run). A workgroup is 32 adjacent columns x 8 row lanes; lane (c, k) adds
//   rows k, k + 8, ... in order, then a fixed shared-memory tree adds the 8: deterministic.
//   With HAS_SHIFT, pass 0 writes each row's c to `shift` and pass 1 takes it out of xh too.
// FROM_OUTPUT (BackendOp.normBackwardFromOutput, memory-sharing normalisation): binding 0
//   holds the forward's output y and binding 3 its bias (read only with HAS_BIAS), and xh =
//   (y - bias) / w, 0 where w == 0; no mean and no shift (xh does not come from a rounded mean).
// Optional bindings (weight, mean or bias, gradWeight, gradBias) are touched only when their
// flag is set.
layout(local_size_x = 256, local_size_y = 1, local_size_z = 1) in;
layout(constant_id = 0) const uint CENTERED = 1;
layout(constant_id = 1) const uint HAS_WEIGHT = 1;
layout(constant_id = 2) const uint ROW_LANES = 256;
layout(constant_id = 3) const uint PASS = 0;
layout(constant_id = 4) const uint HAS_GRAD_WEIGHT = 1;
layout(constant_id = 5) const uint HAS_GRAD_BIAS = 1;
layout(constant_id = 6) const uint HAS_SHIFT = 0;
layout(constant_id = 7) const uint FROM_OUTPUT = 0;
layout(constant_id = 8) const uint HAS_BIAS = 0;

layout(std430, binding = 0) readonly buffer In { float x[]; };            // x, or y (FROM_OUTPUT)
layout(std430, binding = 1) readonly buffer Weight { float w[]; };
layout(std430, binding = 2) readonly buffer GradOut { float dy[]; };
layout(std430, binding = 3) readonly buffer Mean { float meanIn[]; };     // mean, or bias (FROM_OUTPUT)
layout(std430, binding = 4) readonly buffer Rstd { float rstdIn[]; };
layout(std430, binding = 5) writeonly buffer GradIn { float dx[]; };
layout(std430, binding = 6) writeonly buffer GradWeight { float dw[]; };
layout(std430, binding = 7) writeonly buffer GradBias { float db[]; };
layout(std430, binding = 8) buffer Shift { float rowShift[]; };
layout(push_constant) uniform Params { uint rows; uint columns; } p;

shared vec3 partial[256];

// The normalised input of element (row, c) at flat index i.
float normalized(uint i, uint c, float mean, float rstd) {
    if (FROM_OUTPUT == 0u) return (x[i] - mean) * rstd;
    float v = x[i];
    if (HAS_BIAS != 0u) v -= meanIn[c];
    if (HAS_WEIGHT == 0u) return v;
    float weight = w[c];
    return weight != 0.0 ? v / weight : 0.0;
}

vec3 segmentSum(vec3 value, uint segmentBase, uint lane) {
    partial[segmentBase + lane] = value;
    barrier();
    for (uint width = ROW_LANES / 2u; width > 0u; width /= 2u) {
        if (lane < width) partial[segmentBase + lane] += partial[segmentBase + lane + width];
        barrier();
    }
    vec3 total = partial[segmentBase];
    barrier();
    return total;
}

void gradInput() {
    const uint rowsPerGroup = 256u / ROW_LANES;
    uint lane = gl_LocalInvocationID.x % ROW_LANES;
    uint segment = gl_LocalInvocationID.x / ROW_LANES;
    uint segmentBase = segment * ROW_LANES;
    float n = float(p.columns);
    for (uint first = gl_WorkGroupID.x * rowsPerGroup; first < p.rows; first += gl_NumWorkGroups.x * rowsPerGroup) {
        uint row = first + segment;
        bool live = row < p.rows;
        uint base = row * p.columns;
        float mean = 0.0, rstd = 0.0;
        vec3 s = vec3(0.0);
        if (live) {
            mean = CENTERED != 0u && FROM_OUTPUT == 0u ? meanIn[row] : 0.0;
            rstd = rstdIn[row];
            for (uint c = lane; c < p.columns; c += ROW_LANES) {
                float xh = normalized(base + c, c, mean, rstd);
                float g = dy[base + c];
                if (HAS_WEIGHT != 0u) g *= w[c];
                s += vec3(g, g * xh, xh);
            }
        }
        s = segmentSum(s, segmentBase, lane);
        float shift = CENTERED != 0u && FROM_OUTPUT == 0u ? s.z / n : 0.0;
        float meanG = CENTERED != 0u ? s.x / n : 0.0;
        float meanGX = s.y / n - shift * (s.x / n);
        if (live) {
            if (HAS_SHIFT != 0u && lane == 0u) rowShift[row] = shift;
            for (uint c = lane; c < p.columns; c += ROW_LANES) {
                float xh = normalized(base + c, c, mean, rstd) - shift;
                float g = dy[base + c];
                if (HAS_WEIGHT != 0u) g *= w[c];
                dx[base + c] = rstd * (g - meanG - xh * meanGX);
            }
        }
    }
}

shared vec2 columnPartial[8][32];

void columnSums() {
    uint lane = gl_LocalInvocationID.x % 32u;
    uint k = gl_LocalInvocationID.x / 32u;
    for (uint first = gl_WorkGroupID.x * 32u; first < p.columns; first += gl_NumWorkGroups.x * 32u) {
        uint c = first + lane;
        vec2 s = vec2(0.0);
        if (c < p.columns) {
            for (uint r = k; r < p.rows; r += 8u) {
                float d = dy[r * p.columns + c];
                float mean = CENTERED != 0u && FROM_OUTPUT == 0u ? meanIn[r] : 0.0;
                float xh = normalized(r * p.columns + c, c, mean, rstdIn[r]);
                if (HAS_SHIFT != 0u) xh -= rowShift[r];
                s += vec2(d * xh, d);
            }
        }
        columnPartial[k][lane] = s;
        barrier();
        for (uint width = 4u; width > 0u; width /= 2u) {
            if (k < width) columnPartial[k][lane] += columnPartial[k + width][lane];
            barrier();
        }
        if (k == 0u && c < p.columns) {
            if (HAS_GRAD_WEIGHT != 0u) dw[c] = columnPartial[0][lane].x;
            if (HAS_GRAD_BIAS != 0u) db[c] = columnPartial[0][lane].y;
        }
        barrier();
    }
}

void main() {
    if (PASS == 0u) gradInput(); else columnSums();
}
