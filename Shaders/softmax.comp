#version 450
#extension GL_GOOGLE_include_directive : require
//! variant storage16: TE_STORAGE16=1
#ifdef TE_STORAGE16
#extension GL_EXT_shader_16bit_storage : require
#endif
// Softmax over the last axis of a strided view of x (row r starts at offset +
// rowLayout(r), columns are columnStride apart), or log-softmax when LOGARITHM != 0; the
// output is contiguous [rows, columns].
// Wide rows (LANE_PER_ROW == 0): one workgroup of 256 lanes per row (rows beyond the grid
// loop); a shared-memory tree finds the row maximum, a second one the sum of
// exp(x - max); then each lane writes its strided share of the row. Narrow rows
// (LANE_PER_ROW != 0, e.g. class logits): one invocation per row, no barriers.
// Max-subtracted, so no input overflows.
// The storage16 variant reads x and writes dst as float32, float16 or bfloat16 (constant 2:
// OperandTypes.kernelCode, x's type in bits 0-7, dst's in 16-23): float32 arithmetic, dst
// rounded once to nearest even.
#include "strided.glsl"
layout(local_size_x = 256, local_size_y = 1, local_size_z = 1) in;
layout(constant_id = 0) const uint LOGARITHM = 0;
layout(constant_id = 1) const uint LANE_PER_ROW = 0;

layout(std430, binding = 0) readonly buffer In { float x[]; };
layout(std430, binding = 1) writeonly buffer Out { float dst[]; };
#ifdef TE_STORAGE16
#include "float16.glsl"
layout(constant_id = 2) const uint IO_TYPES = 0u;
const uint TYPE_X = IO_TYPES & 0xFFu;
const uint TYPE_OUT = (IO_TYPES >> 16) & 0xFFu;
layout(std430, binding = 0) readonly buffer In16 { uint16_t x16[]; };
layout(std430, binding = 1) writeonly buffer Out16 { uint16_t dst16[]; };
float load(uint i) { return TYPE_X == uint(TE_DTYPE_FLOAT32) ? x[i] : te_from_16(uint(x16[i]), TYPE_X); }
void store(uint i, float v) {
    if (TYPE_OUT == uint(TE_DTYPE_FLOAT32)) dst[i] = v; else dst16[i] = uint16_t(te_to_16(v, TYPE_OUT));
}
#else
float load(uint i) { return x[i]; }
void store(uint i, float v) { dst[i] = v; }
#endif
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

#define X(c) load(base + (c) * p.columnStride)

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
            for (uint c = 0u; c < p.columns; ++c) store(outBase + c, X(c) - shift);
        } else {
            float inverse = 1.0 / total;
            for (uint c = 0u; c < p.columns; ++c) store(outBase + c, exp(X(c) - top) * inverse);
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
            for (uint c = lane; c < p.columns; c += 256u) store(outBase + c, X(c) - shift);
        } else {
            float inverse = 1.0 / total;
            for (uint c = lane; c < p.columns; c += 256u) store(outBase + c, exp(X(c) - top) * inverse);
        }
    }
}
