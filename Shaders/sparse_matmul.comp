#version 450
// Activation-sparse kernels; OP (specialisation constant) picks one:
//
// OP 0, product: y[r, c] = sum over surviving k of x[r, k] * w[k, c], w row-major [K, N].
//   A workgroup of 256 lanes covers NT = 64 columns (lane % 64) x 4 k-lanes (lane / 64)
//   for a block of ROWS rows (1: per row; 4: the union over the block). K is walked in
//   chunks of 256: each lane tests one input (any row of the block keeps it), a
//   workgroup-wide exclusive prefix sum in shared memory (Hillis-Steele; no assumption
//   about the subgroup size) gives each survivor its slot, survivors write their index
//   and values to shared memory, and the lanes then accumulate only over the compacted
//   list, reading contiguous 64-column runs of the selected weight rows. A chunk with no
//   survivor skips its accumulation; a workgroup past the last column exits at once.
// OP 1, threshold: y[i] = x[i] where it survives, else 0 (the dense path's input).
// OP 2, counts: counts[r] = survivors of row r; counts[rows] = channels surviving in any row.
//
// An input survives when !(|x| <= t), t the scalar push constant or thresholds[k].
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 256, local_size_y = 1, local_size_z = 1) in;
layout(constant_id = 0) const uint OP = 0;
layout(constant_id = 1) const uint ROWS = 1;
layout(constant_id = 2) const uint PER_CHANNEL = 0;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(std430, binding = 3) readonly buffer T { float thresholds[]; };
layout(std430, binding = 4) writeonly buffer Counts { int counts[]; };
layout(push_constant) uniform Params { uint rows; uint inner; uint columns; float threshold; } p;

#define WG 256u
#define NT 64u
#define KS 4u
#define MAX_ROWS 4u

shared uint scan[WG];
shared uint slotIndex[WG];
shared float slotValue[MAX_ROWS * WG];
shared float partial[MAX_ROWS * WG];

bool keeps(uint r, uint k) {
    float t = PER_CHANNEL != 0u ? thresholds[k] : p.threshold;
    return !(abs(x[r * p.inner + k]) <= t);
}

void product() {
    uint tid = gl_LocalInvocationID.x;
    uint column = tid % NT, lane = tid / NT;
    if (gl_WorkGroupID.x * NT >= p.columns) return;  // uniform: nothing to do
    uint col = gl_WorkGroupID.x * NT + column;
    for (uint r0 = gl_WorkGroupID.y * ROWS; r0 < p.rows; r0 += gl_NumWorkGroups.y * ROWS) {
        uint blockRows = min(ROWS, p.rows - r0);
        float acc[MAX_ROWS];
        for (uint j = 0u; j < MAX_ROWS; ++j) acc[j] = 0.0;
        for (uint chunk = 0u; chunk < p.inner; chunk += WG) {
            uint k = chunk + tid;
            float v[MAX_ROWS];
            bool hit = false;
            for (uint j = 0u; j < MAX_ROWS; ++j) {
                v[j] = 0.0;
                if (j < blockRows && k < p.inner && keeps(r0 + j, k)) {
                    v[j] = x[(r0 + j) * p.inner + k];
                    hit = true;
                }
            }
            // Inclusive prefix sum of the survivor flags.
            scan[tid] = hit ? 1u : 0u;
            barrier();
            for (uint offset = 1u; offset < WG; offset <<= 1u) {
                uint add = tid >= offset ? scan[tid - offset] : 0u;
                barrier();
                scan[tid] += add;
                barrier();
            }
            uint total = scan[WG - 1u];
            if (hit) {
                uint slot = scan[tid] - 1u;
                slotIndex[slot] = k;
                for (uint j = 0u; j < MAX_ROWS; ++j) slotValue[j * WG + slot] = v[j];
            }
            barrier();
            if (total > 0u && col < p.columns) {
                for (uint i = lane; i < total; i += KS) {
                    float wv = w[slotIndex[i] * p.columns + col];
                    for (uint j = 0u; j < MAX_ROWS; ++j) {
                        if (j < ROWS) acc[j] = fma(slotValue[j * WG + i], wv, acc[j]);
                    }
                }
            }
            barrier();
        }
        for (uint j = 0u; j < MAX_ROWS; ++j) partial[j * WG + tid] = acc[j];
        barrier();
        if (lane == 0u && col < p.columns) {
            for (uint j = 0u; j < blockRows; ++j) {
                float sum = 0.0;
                for (uint l = 0u; l < KS; ++l) sum += partial[j * WG + l * NT + column];
                y[(r0 + j) * p.columns + col] = sum;
            }
        }
        barrier();
    }
}

void thresholdInput() {
    uint count = p.rows * p.inner;
    for (uint i = gl_GlobalInvocationID.x; i < count; i += gl_NumWorkGroups.x * WG) {
        uint r = i / p.inner, k = i % p.inner;
        y[i] = keeps(r, k) ? x[i] : 0.0;
    }
}

void countSurvivors() {
    uint tid = gl_LocalInvocationID.x;
    for (uint g = gl_WorkGroupID.x; g <= p.rows; g += gl_NumWorkGroups.x) {
        uint n = 0u;
        for (uint k = tid; k < p.inner; k += WG) {
            if (g < p.rows) {
                n += keeps(g, k) ? 1u : 0u;
            } else {
                bool hit = false;
                for (uint r = 0u; r < p.rows && !hit; ++r) hit = keeps(r, k);
                n += hit ? 1u : 0u;
            }
        }
        scan[tid] = n;
        barrier();
        for (uint width = WG / 2u; width > 0u; width >>= 1u) {
            if (tid < width) scan[tid] += scan[tid + width];
            barrier();
        }
        if (tid == 0u) counts[g] = int(scan[0]);
        barrier();
    }
}

void main() {
    if (OP == 0u) product();
    else if (OP == 1u) thresholdInput();
    else countSurvivors();
}
