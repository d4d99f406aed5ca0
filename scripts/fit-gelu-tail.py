#!/usr/bin/env python3
"""Fits the polynomial of GELU's CPU forward kernel (gelu_tail_exponent2 in
Sources/CPUKernels/ActivationBodies.h) and prints its float32 coefficients.

The kernel computes GELU(x) = relu(x) - a Phi(-a), a = |x|, with
a Phi(-a) = u 2^(g(u) - a^2 log2(e) / 2), u = a / (1 + 0.4 a); g is this script's degree-6
polynomial in u - center. The fit is a weighted minimax (Lawson's iteration over weighted
least squares) of g's error measured in GELU's own conditioning: the tests allow
eps (|f| + |x f'|) per value, so on the negative side the error of a Phi(-a) may be
(1 + |1 - a phi(a) / Phi(-a)|) eps relative. |x| in [0.3, 1.3] is weighted twice, because
the kernel's other roundings (division, exponent, 2^f) add up there.

    .venv/bin/python scripts/fit-gelu-tail.py   # numpy only
"""
import math

import numpy as np

P, DEGREE, END, MIDDLE_WEIGHT = 0.4, 6, 14.9, 2.0
EPS = 2.0 ** -24

a = np.concatenate([np.linspace(0, 4, 4000), np.linspace(4, END, 3000)])
tail = np.array([0.5 * math.erfc(v / math.sqrt(2)) for v in a])          # Phi(-a)
density = np.exp(-a**2 / 2) / math.sqrt(2 * math.pi)                    # phi(a)
budget = 1 + np.abs(1 - a * density / tail)
weight = np.where((a > 0.3) & (a < 1.3), MIDDLE_WEIGHT, 1.0) / budget

u = a / (1 + P * a)
target = np.log2(tail * (1 + P * a)) + a**2 / (2 * math.log(2))
center = np.float32((u.min() + u.max()) / 2)
basis = np.vander(u - center, DEGREE + 1)
lawson = np.full(len(a), 1 / len(a))
for _ in range(100):
    root = np.sqrt(lawson) * weight
    coefficients, *_ = np.linalg.lstsq(basis * root[:, None], target * root, rcond=None)
    error = np.abs(basis @ coefficients - target) * weight
    lawson = lawson * error / np.sum(lawson * error)

c32 = coefficients.astype(np.float32)
a32 = a.astype(np.float32)
s32 = (a32 / (np.float32(P) * a32 + np.float32(1)) - center).astype(np.float32)
value = np.full_like(s32, c32[0])
for c in c32[1:]:
    value = (value * s32 + c).astype(np.float32)
roundoffs = np.abs(value.astype(np.float64) - target) / budget * math.log(2) / EPS
print(f"center {center:.9g}; coefficients, highest degree first:")
print(", ".join(f"{c:.9g}" for c in c32))
print(f"fit error in float32 Horner: at most {roundoffs.max():.2f} conditioned roundoffs (the kernel's other roundings add the rest)")
