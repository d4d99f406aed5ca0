// Offset of element `index` of a row-major shape in a strided layout (rank <= 8).
#ifndef TE_STRIDED_GLSL
#define TE_STRIDED_GLSL

#define TE_MAX_RANK 8

uint te_strided_offset(uint index, uint rank, uint shape[TE_MAX_RANK], uint strides[TE_MAX_RANK]) {
    uint offset = 0u;
    for (int axis = int(rank) - 1; axis >= 0; --axis) {
        uint extent = shape[axis];
        uint coordinate = index % extent;
        index /= extent;
        offset += coordinate * strides[axis];
    }
    return offset;
}

#endif
