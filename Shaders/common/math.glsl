// Accurate float32 building blocks for the activation functions.
// Each keeps relative accuracy where the textbook formula cancels.
#ifndef TE_MATH_GLSL
#define TE_MATH_GLSL

// e^x - 1 without cancellation near 0. Vulkan lets exp and log carry absolute (not
// relative) error near 1, so small arguments use a Taylor polynomial, not Kahan's trick.
float te_expm1(float x) {
    if (abs(x) < 0.5) {
        float p = 1.0 / 362880.0;
        p = p * x + 1.0 / 40320.0;
        p = p * x + 1.0 / 5040.0;
        p = p * x + 1.0 / 720.0;
        p = p * x + 1.0 / 120.0;
        p = p * x + 1.0 / 24.0;
        p = p * x + 1.0 / 6.0;
        p = p * x + 0.5;
        p = p * x + 1.0;
        return p * x;
    }
    return exp(x) - 1.0;
}

// log(1 + u) for u in [0, 1], without log: 2 atanh(s) with s = u / (2 + u) <= 1/3,
// summed as an odd series (9 terms: truncation below 1e-9 relative).
float te_log1p_unit(float u) {
    float s = u / (2.0 + u);
    float s2 = s * s;
    float p = 1.0 / 17.0;
    p = p * s2 + 1.0 / 15.0;
    p = p * s2 + 1.0 / 13.0;
    p = p * s2 + 1.0 / 11.0;
    p = p * s2 + 1.0 / 9.0;
    p = p * s2 + 1.0 / 7.0;
    p = p * s2 + 1.0 / 5.0;
    p = p * s2 + 1.0 / 3.0;
    p = p * s2 + 1.0;
    return 2.0 * s * p;
}

float te_sigmoid(float x) {
    float e = exp(-abs(x));
    float s = 1.0 / (1.0 + e);
    return x >= 0.0 ? s : e * s;
}

// sigmoid'(x) = s (1 - s) = e / (1 + e)^2 with e = exp(-|x|).
float te_sigmoid_derivative(float x) {
    float e = exp(-abs(x));
    float d = 1.0 + e;
    return e / (d * d);
}

float te_softplus(float x) {
    return max(x, 0.0) + te_log1p_unit(exp(-abs(x)));
}

// tanh through expm1: accurate near 0 and saturating cleanly (no inf / inf).
float te_tanh(float x) {
    if (isnan(x)) return x;  // min(NaN, 9.0) is undefined in GLSL (lavapipe gives 9.0, so tanh(NaN) was 1)
    float a = min(abs(x), 9.0);
    float em = te_expm1(2.0 * a);
    float t = em / (em + 2.0);
    return x < 0.0 ? -t : t;
}

// 1 - tanh(x)^2 = 4 e / (1 + e)^2 with e = exp(-2|x|).
float te_tanh_derivative(float x) {
    float e = exp(-2.0 * abs(x));
    float d = 1.0 + e;
    return 4.0 * e / (d * d);
}

// erfc(z) for z >= 0, relative error about 3e-7 everywhere.
// erfc(z) = exp(-z^2) * P(t), t = 2 / (2 + z), P a degree-11 least-squares fit of the
// scaled complementary error function (fitted for this engine in float64, weighted by
// 1/erfcx). exp(-z^2) is split so that z^2 carries no rounding error.
float te_erfc_positive(float z) {
    if (z > 10.0) return 0.0;
    float t = 2.0 / (2.0 + z);
    float p = 2.991401827e-02;
    p = p * t - 1.530588034e-01;
    p = p * t + 2.726932283e-01;
    p = p * t - 1.086362501e-01;
    p = p * t - 2.160472927e-01;
    p = p * t + 1.759459659e-01;
    p = p * t - 1.506802573e-02;
    p = p * t + 2.094697722e-01;
    p = p * t + 2.397124124e-01;
    p = p * t + 2.830509396e-01;
    p = p * t + 2.820216083e-01;
    p = p * t + 2.436240696e-06;
    float zh = uintBitsToFloat(floatBitsToUint(z) & 0xfffff000u);
    float scale = exp(-zh * zh) * exp((zh - z) * (zh + z));
    return scale * p;
}

// The standard normal CDF, Phi(x) = (1 + erf(x / sqrt 2)) / 2, accurate in both tails.
float te_normal_cdf(float x) {
    float c = 0.5 * te_erfc_positive(abs(x) * 0.70710678118654752);
    return x < 0.0 ? c : 1.0 - c;
}

float te_normal_pdf(float x) {
    return 0.39894228040143268 * exp(-0.5 * x * x);
}

#endif
