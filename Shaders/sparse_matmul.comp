#version 450
// Activation-sparse kernels; OP (specialisation constant) picks one:
//
// OP 3, compact: one workgroup per block of ROWS rows (1: per row; 4: the union over the
//   block) walks K in chunks of 256: each lane tests one input (does any row of the block
//   keep it), a workgroup-wide exclusive prefix sum in shared memory (Hillis-Steele: no
//   assumption about the subgroup size) gives each survivor its slot, and survivors write
//   their index to `list` and their values to `vals`; list[block * (K + 1)] = the count.
// OP 0, product: y[r, c] = sum over the block's list of vals[r, i] * w[list[i], c], w
//   row-major [K, N]. A workgroup of 256 lanes covers NT = 64 columns (lane % 64) x 4
//   k-lanes (lane / 64) of one block: adjacent lanes read adjacent columns of a selected
//   weight row. A block with an empty list writes zeros and exits at once, reading no
//   weights; so does a workgroup past the last column.
// OP 1, threshold: y[i] = x[i] where it survives, else 0 (the dense path's input).
// OP 2, counts: list[r] = survivors of row r; list[rows] = channels surviving in any row.
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
layout(std430, binding = 4) buffer List { int list[]; };
layout(std430, binding = 5) buffer Vals { float vals[]; };
layout(push_constant) uniform Params { uint rows; uint inner; uint columns; float threshold; } p;

#define WG 256u
#define NT 64u
#define KS 4u
#define MAX_ROWS 4u

shared uint scan[WG];
shared float partial[MAX_ROWS * WG];

bool keeps(uint r, uint k) {
    float t = PER_CHANNEL != 0u ? thresholds[k] : p.threshold;
    return !(abs(x[r * p.inner + k]) <= t);
}

void compact() {
    uint tid = gl_LocalInvocationID.x;
    uint blocks = (p.rows + ROWS - 1u) / ROWS;
    for (uint block = gl_WorkGroupID.x; block < blocks; block += gl_NumWorkGroups.x) {
        uint r0 = block * ROWS;
        uint blockRows = min(ROWS, p.rows - r0);
        uint base = block * (p.inner + 1u);
        uint running = 0u;
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
            if (hit) {
                uint slot = running + scan[tid] - 1u;
                list[base + 1u + slot] = int(k);
                for (uint j = 0u; j < blockRows; ++j) vals[(r0 + j) * p.inner + slot] = v[j];
            }
            running += scan[WG - 1u];
            barrier();
        }
        if (tid == 0u) list[base] = int(running);
    }
}

void product() {
    uint tid = gl_LocalInvocationID.x;
    uint column = tid % NT, lane = tid / NT;
    if (gl_WorkGroupID.x * NT >= p.columns) return;  // uniform: nothing to do
    uint col = gl_WorkGroupID.x * NT + column;
    uint blocks = (p.rows + ROWS - 1u) / ROWS;
    for (uint block = gl_WorkGroupID.y; block < blocks; block += gl_NumWorkGroups.y) {
        uint r0 = block * ROWS;
        uint blockRows = min(ROWS, p.rows - r0);
        uint base = block * (p.inner + 1u);
        uint count = uint(list[base]);
        if (count == 0u) {  // uniform: no input survives, no weight is read
            if (lane == 0u && col < p.columns) {
                for (uint j = 0u; j < blockRows; ++j) y[(r0 + j) * p.columns + col] = 0.0;
            }
            continue;
        }
        float acc[MAX_ROWS];
        for (uint j = 0u; j < MAX_ROWS; ++j) acc[j] = 0.0;
        if (col < p.columns) {
            for (uint i = lane; i < count; i += KS) {
                float wv = w[uint(list[base + 1u + i]) * p.columns + col];
                for (uint j = 0u; j < MAX_ROWS; ++j) {
                    if (j < blockRows) acc[j] = fma(vals[(r0 + j) * p.inner + i], wv, acc[j]);
                }
            }
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
        if (tid == 0u) list[g] = int(scan[0]);
        barrier();
    }
}

void main() {
    if (OP == 0u) product();
    else if (OP == 1u) thresholdInput();
    else if (OP == 2u) countSurvivors();
    else compact();
}
