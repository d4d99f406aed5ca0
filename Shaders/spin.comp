#version 450
// Diagnostic only (no backend op runs it): each workgroup (one invocation) runs `steps`
// loop iterations of 16 dependent multiply-adds, x = x * data[0] + 0.5 from x = 0, and
// writes x to data[1 + group]. Many groups keep the queue busy for a chosen time, which is
// how the fence-timeout path is tested (Tests/ReliabilityTests/FenceTimeoutTests.swift).
// The work is bounded so the device can still be waited for and destroyed afterwards.
// lavapipe (llvmpipe) ends any loop after 65535 iterations, so on it the time comes from the
// number of groups, not from `steps`.
layout(local_size_x = 1) in;

// volatile: every step reloads the factor, so no compiler can fold the loop away (a plain
// register loop was).
layout(std430, binding = 0) volatile buffer Data { float data[]; };
layout(push_constant) uniform Params { uint steps; } p;

#define STEP x = x * data[0] + 0.5;
#define STEP4 STEP STEP STEP STEP

void main() {
    float x = 0.0;
    for (uint i = 0u; i < p.steps; ++i) { STEP4 STEP4 STEP4 STEP4 }
    data[1u + gl_WorkGroupID.x] = x;
}
