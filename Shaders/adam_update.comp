#version 450
#extension GL_GOOGLE_include_directive : require
// One Adam / AdamW update in place (BackendOp.adamUpdate, the formulas of AdamStep):
// p = p * decay - stepSize * m / (sqrt(v) / sqrt(correction2) + epsilon), after
// m = m + (1 - beta1) (g - m) and v = beta2 v + (1 - beta2) g^2.
#include "elementwise.glsl"

layout(std430, binding = 0) buffer Parameter { float p[]; };
layout(std430, binding = 1) readonly buffer Gradient { float g[]; };
layout(std430, binding = 2) buffer FirstMoment { float m[]; };
layout(std430, binding = 3) buffer SecondMoment { float v[]; };
layout(push_constant) uniform Params {
    uint count;
    float decay;
    float rate1;
    float beta2;
    float rate2;
    float stepSize;
    float correction2Root;
    float epsilon;
} params;

void main() {
    FOR_EACH_ELEMENT(i, params.count) {
        float gradient = g[i];
        float moment = m[i] + params.rate1 * (gradient - m[i]);
        float variance = params.beta2 * v[i] + params.rate2 * gradient * gradient;
        m[i] = moment;
        v[i] = variance;
        p[i] = p[i] * params.decay - params.stepSize * moment / (sqrt(variance) / params.correction2Root + params.epsilon);
    }
}
