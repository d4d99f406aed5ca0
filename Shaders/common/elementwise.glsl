// Shared layout for the 1-D elementwise kernels: 256 invocations per workgroup and a
// grid-stride loop, so any element count runs within maxComputeWorkGroupCount.
#ifndef TE_ELEMENTWISE_GLSL
#define TE_ELEMENTWISE_GLSL

layout(local_size_x = 256, local_size_y = 1, local_size_z = 1) in;

#define FOR_EACH_ELEMENT(i, count) \
    for (uint i = gl_GlobalInvocationID.x; i < (count); i += gl_NumWorkGroups.x * 256u)

#endif
