#!/usr/bin/env python3
"""linear + activation in PyTorch (F.linear then the activation, two kernels) and numpy
(x @ w + b then the activation), for side-by-side runs with `tensorbench linear`.
Prints one JSON line per (peer, shape): {"peer", "label", "min", "median", "version"}.

    python3 Benchmarks/peers/linear.py --shapes 256x1024x4096 --activation gelu --repeat 10
"""
import argparse, json, sys

from common import timed


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--shapes", default="256x1024x4096")
    p.add_argument("--activation", default="gelu")
    p.add_argument("--repeat", type=int, default=10)
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args()
    shapes = [tuple(int(d) for d in s.split("x")) for s in args.shapes.split(",") if s]
    try:
        import torch
        import torch.nn.functional as F
        if args.threads:
            torch.set_num_threads(args.threads)
        act = {"gelu": F.gelu, "silu": F.silu, "relu": F.relu}[args.activation]
        for (m, k, n) in shapes:
            x = torch.randn(m, k)
            w = torch.randn(n, k) / k ** 0.5
            b = torch.randn(n)
            lo, med = timed(lambda: act(F.linear(x, w, b)), args.repeat)
            print(json.dumps({"peer": "torch", "label": "%dx%dx%d" % (m, k, n), "min": lo, "median": med,
                              "version": torch.__version__}), flush=True)
    except Exception as e:  # torch missing or failing: say why
        print(json.dumps({"peer": "torch", "why": "torch unavailable: %s" % e}), flush=True)
    try:
        import numpy as np
        rng = np.random.default_rng(0)
        for (m, k, n) in shapes:
            x = rng.standard_normal((m, k), dtype=np.float32)
            w = rng.standard_normal((k, n), dtype=np.float32) / np.float32(k ** 0.5)
            b = rng.standard_normal(n, dtype=np.float32)
            if args.activation == "relu":
                fn = lambda: np.maximum(x @ w + b, 0)
            elif args.activation == "silu":
                fn = lambda: (lambda z: z / (1 + np.exp(-z)))(x @ w + b)
            else:
                print(json.dumps({"peer": "numpy", "why": "numpy has no erf for exact GELU"}), flush=True)
                break
            lo, med = timed(fn, args.repeat)
            print(json.dumps({"peer": "numpy", "label": "%dx%dx%d" % (m, k, n), "min": lo, "median": med,
                              "version": np.__version__}), flush=True)
    except Exception as e:
        print(json.dumps({"peer": "numpy", "why": "numpy unavailable: %s" % e}), flush=True)


if __name__ == "__main__":
    main()
