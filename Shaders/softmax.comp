#version 450
#extension GL_GOOGLE_include_directive : require
// Softmax over the last axis of a strided view of x (row r starts at offset +
// rowLayout(r), columns are columnStride apart), or log-softmax when LOGARITHM != 0; the
// output is contiguous [rows, columns].
// Wide rows (LANE_PER_ROW == 0): one workgroup of 256 lanes per row (rows beyond the grid
// loop); a shared-memory tree finds the row maximum, a second one the sum of
// exp(x - max); then each lane writes its strided share of the row. Narrow rows
// (LANE_PER_ROW != 0, e.g. class logits): one invocation per row, no barriers.
// Max-subtracted, so no input overflows.
#include "strided.glsl"
layout(local_size_x = 256, local_size_y = 1, local_size_z = 1) in;
layout(constant_id = 0) const uint LOGARITHM = 0;
layout(constant_id = 1) const uint LANE_PER_ROW = 0;

layout(std430, binding = 0) readonly buffer In { float x[]; };
layout(std430, binding = 1) writeonly buffer Out { float dst[]; };
layout(push_constant) uniform Params {
    uint rows;
    uint columns;
    uint columnStride;
    uint rank;          // of the row layout; 0: rows follow each other `columns` apart
    uint offset;
    uint shape[TE_MAX_RANK];
    uint strides[TE_MAX_RANK];
} p;

uint rowStart(uint row) {
    return p.offset + (p.rank == 0u ? row * p.columns : te_strided_offset(row, p.rank, p.shape, p.strides));
}

#define X(c) x[base + (c) * p.columnStride]

shared float partial[256];

void narrowRows() {
    for (uint row = gl_GlobalInvocationID.x; row < p.rows; row += gl_NumWorkGroups.x * 256u) {
        uint base = rowStart(row);
        uint outBase = row * p.columns;
        float top = -1.0 / 0.0;
        for (uint c = 0u; c < p.columns; ++c) top = max(top, X(c));
        if (isinf(top) && top < 0.0) top = 0.0;
        float total = 0.0;
        for (uint c = 0u; c < p.columns; ++c) total += exp(X(c) - top);
        if (LOGARITHM != 0u) {
            float shift = top + log(total);
            for (uint c = 0u; c < p.columns; ++c) dst[outBase + c] = X(c) - shift;
        } else {
            float inverse = 1.0 / total;
            for (uint c = 0u; c < p.columns; ++c) dst[outBase + c] = exp(X(c) - top) * inverse;
        }
    }
}

void main() {
    if (LANE_PER_ROW != 0u) {
        narrowRows();
        return;
    }
    uint lane = gl_LocalInvocationID.x;
    for (uint row = gl_WorkGroupID.x; row < p.rows; row += gl_NumWorkGroups.x) {
        uint base = rowStart(row);
        uint outBase = row * p.columns;
        float top = -1.0 / 0.0;
        for (uint c = lane; c < p.columns; c += 256u) top = max(top, X(c));
        partial[lane] = top;
        barrier();
        for (uint width = 128u; width > 0u; width /= 2u) {
            if (lane < width) partial[lane] = max(partial[lane], partial[lane + width]);
            barrier();
        }
        top = partial[0];
        if (isinf(top) && top < 0.0) top = 0.0;
        barrier();
        float total = 0.0;
        for (uint c = lane; c < p.columns; c += 256u) total += exp(X(c) - top);
        partial[lane] = total;
        barrier();
        for (uint width = 128u; width > 0u; width /= 2u) {
            if (lane < width) partial[lane] += partial[lane + width];
            barrier();
        }
        total = partial[0];
        barrier();
        if (LOGARITHM != 0u) {
            float shift = top + log(total);
            for (uint c = lane; c < p.columns; c += 256u) dst[outBase + c] = X(c) - shift;
        } else {
            float inverse = 1.0 / total;
            for (uint c = lane; c < p.columns; c += 256u) dst[outBase + c] = exp(X(c) - top) * inverse;
        }
    }
}
