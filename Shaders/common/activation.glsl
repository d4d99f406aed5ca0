// f(x) and f'(x) for every Activation, in float32. The codes (TE_ACT_*) are Activation.kernelCode
// and the parameter is Activation.parameter (leaky slope, elu alpha); the formulas are
// those of Sources/TensorCore/Activation.swift, rearranged only for accuracy.
#ifndef TE_ACTIVATION_GLSL
#define TE_ACTIVATION_GLSL
#include "math.glsl"

#include "tensor_codes.h"

const float TE_SQRT_2_OVER_PI = 0.79788456080286536;
const float TE_GELU_CUBIC = 0.044715;

float te_activate(int code, float x, float param) {
    switch (code) {
    case TE_ACT_RELU: return x < 0.0 ? 0.0 : x;  // NaN stays NaN, as on the CPU
    case TE_ACT_LEAKY_RELU: return x > 0.0 ? x : param * x;
    case TE_ACT_GELU: return x * te_normal_cdf(x);
    case TE_ACT_GELU_TANH: {
        // 0.5 x (1 + tanh(u)) = x sigmoid(2u)
        float u = TE_SQRT_2_OVER_PI * (x + TE_GELU_CUBIC * x * x * x);
        return x * te_sigmoid(2.0 * u);
    }
    case TE_ACT_SILU: return x * te_sigmoid(x);
    case TE_ACT_MISH: return x * te_tanh(te_softplus(x));
    case TE_ACT_TANH: return te_tanh(x);
    case TE_ACT_SIGMOID: return te_sigmoid(x);
    case TE_ACT_SOFTPLUS: return te_softplus(x);
    case TE_ACT_ELU: return x > 0.0 ? x : param * te_expm1(x);
    default: return x;
    }
}

float te_activate_derivative(int code, float x, float param) {
    switch (code) {
    case TE_ACT_RELU: return x > 0.0 ? 1.0 : 0.0;
    case TE_ACT_LEAKY_RELU: return x > 0.0 ? 1.0 : param;
    case TE_ACT_GELU: return te_normal_cdf(x) + x * te_normal_pdf(x);
    case TE_ACT_GELU_TANH: {
        float u = TE_SQRT_2_OVER_PI * (x + TE_GELU_CUBIC * x * x * x);
        float du = TE_SQRT_2_OVER_PI * (1.0 + 3.0 * TE_GELU_CUBIC * x * x);
        // 0.5 (1 + t) = sigmoid(2u); 1 - t^2 = 4 sigmoid'(2u)
        return te_sigmoid(2.0 * u) + 2.0 * x * te_sigmoid_derivative(2.0 * u) * du;
    }
    case TE_ACT_SILU: {
        float s = te_sigmoid(x);
        return s * (1.0 + x * (1.0 - s));
    }
    case TE_ACT_MISH: {
        float sp = te_softplus(x);
        return te_tanh(sp) + x * te_tanh_derivative(sp) * te_sigmoid(x);
    }
    case TE_ACT_TANH: return te_tanh_derivative(x);
    case TE_ACT_SIGMOID: return te_sigmoid_derivative(x);
    case TE_ACT_SOFTPLUS: return te_sigmoid(x);
    case TE_ACT_ELU: return x > 0.0 ? 1.0 : param * exp(x);
    default: return 1.0;
    }
}

#endif
