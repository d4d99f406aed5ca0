"""Fits the two polynomials of GELU's CPU kernels (Sources/CPUKernels/ActivationBodies.h)
and prints their float32 coefficients, highest degree first.

Forward, gelu_tail_exponent2: GELU(x) = relu(x) - a Phi(-a), a = |x|, with
a Phi(-a) = u 2^(g(u) - a^2 log2(e) / 2), u = a / (1 + 0.4 a); g of degree 6 in u - center.
Backward, gelu_tail_ratio: GELU'(x) = H(x) + sign(x) (a phi(a) - Phi(-a)), with
Phi(-a) = t h(t) e^(-a^2 / 2), t = 1 / (1 + 0.47 a); h of degree 6 in t - center.

Each fit is a weighted minimax (Lawson's iteration over weighted least squares) of the error
measured in what the tests allow: eps (|f| + |x f'|) per forward value, eps (|f'| + |x f''|)
per derivative. The forward fit weighs |x| in [0.3, 1.3] twice, because the kernel's other
roundings (division, exponent, 2^f) add up there.

    .venv/bin/python scripts/fit-gelu-tail.py   # numpy only
"""
import math

import numpy as np

END, EPS = 14.9, 2.0 ** -24
a = np.concatenate([np.linspace(0, 4, 4000), np.linspace(4, END, 3000)])
tail = np.array([0.5 * math.erfc(v / math.sqrt(2)) for v in a])          # Phi(-a)
density = np.exp(-a**2 / 2) / math.sqrt(2 * math.pi)                    # phi(a)


def fit(name, variable, target, weight, degree):
    """Lawson-weighted minimax of target(variable) by a polynomial in variable - center;
    prints float32 coefficients and their error (weighted) evaluated in float32 Horner."""
    center = np.float32((variable.min() + variable.max()) / 2)
    basis = np.vander(variable - center, degree + 1)
    lawson = np.full(len(a), 1 / len(a))
    for _ in range(100):
        root = np.sqrt(lawson) * weight
        coefficients, *_ = np.linalg.lstsq(basis * root[:, None], target * root, rcond=None)
        error = np.abs(basis @ coefficients - target) * weight
        lawson = lawson * error / np.sum(lawson * error)
    c32 = coefficients.astype(np.float32)
    s32 = (variable.astype(np.float32) - center).astype(np.float32)
    value = np.full_like(s32, c32[0])
    for c in c32[1:]:
        value = (value * s32 + c).astype(np.float32)
    worst = np.max(np.abs(value.astype(np.float64) - target) * weight) / EPS
    print(f"{name}: center {center:.9g}; coefficients:")
    print("  " + ", ".join(f"{c:.9g}" for c in c32))
    print(f"  fit error {worst:.2f} roundoffs (weighted; the kernel's other roundings add the rest)")


# Forward: g(u) in log2, so a relative error r of a Phi(-a) is an error r / ln 2 in g.
P = 0.4
u = a / (1 + P * a)
allowed = 1 + np.abs(1 - a * density / tail)
middle = np.where((a > 0.3) & (a < 1.3), 2.0, 1.0)
fit("gelu_tail_exponent2", u, np.log2(tail * (1 + P * a)) + a**2 / (2 * math.log(2)),
    middle * math.log(2) / allowed, 6)

# Backward: h(t) directly; a relative error r of Phi(-a) may be allowed(a) eps.
P = 0.47
t = 1 / (1 + P * a)
h = tail * np.exp(a**2 / 2) * (1 + P * a)
allowed = (np.abs(tail - a * density) + a * density * np.abs(2 - a**2)) / tail
fit("gelu_tail_ratio", t, h, 1 / (allowed * h), 6)
