#!/usr/bin/env python3
"""Elementwise activations on float32 tensors in PyTorch (and numpy where it has a
natural expression), for side-by-side runs with `tensorbench activations`. Prints one JSON
line per (library, activation, shape): min and median seconds and Gelem/s at both.

    python3 Benchmarks/peers/activations.py --sizes 4096x4096 --repeat 10 --threads 2
"""
import argparse, json, os, statistics, sys, time

ACTIVATIONS = ["gelu", "gelu_tanh", "silu", "relu", "tanh", "sigmoid", "softplus", "mish", "elu"]


def parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="4096x4096", help="comma-separated shapes like 4096x4096 or 1000000")
    p.add_argument("--repeat", type=int, default=10, help="timed runs per shape (after one warm-up)")
    p.add_argument("--threads", type=int, default=None, help="intra-op threads")
    p.add_argument("--activations", default="gelu,silu", help="comma-separated, from: " + ",".join(ACTIVATIONS))
    p.add_argument("--libraries", default="torch,numpy", help="which peers to run")
    return p.parse_args()


def timed(fn, repeat):
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


def emit(library, act, shape, times, extra):
    count = 1
    for d in shape:
        count *= d
    lo, med = times
    rec = {"bench": "activations", "library": library, "activation": act, "shape": shape, "dtype": "float32",
           "min_s": lo, "median_s": med, "gelem_per_s_at_min": count / lo / 1e9,
           "gelem_per_s_at_median": count / med / 1e9}
    rec.update(extra)
    print(json.dumps(rec), flush=True)


CALLS = {
    "gelu": "torch.nn.functional.gelu(x, out=y)",
    "gelu_tanh": "torch._C._nn.gelu(x, approximate='tanh', out=y)",
    "silu": "torch._C._nn.silu(x, out=y) (what torch.nn.functional.silu calls)",
    "relu": "torch.clamp_min(x, 0, out=y)",
    "tanh": "torch.tanh(x, out=y)",
    "sigmoid": "torch.sigmoid(x, out=y)",
    "softplus": "torch._C._nn.softplus(x, out=y)",
    "mish": "torch._C._nn.mish(x, out=y)",
    "elu": "torch._C._nn.elu(x, out=y)",
}


def torch_fn(torch, act, x, y):
    F = torch.nn.functional
    table = {
        "gelu": lambda: F.gelu(x, out=y),
        "gelu_tanh": lambda: torch._C._nn.gelu(x, approximate="tanh", out=y),
        "silu": lambda: torch._C._nn.silu(x, out=y),
        "relu": lambda: torch.clamp_min(x, 0, out=y),
        "tanh": lambda: torch.tanh(x, out=y),
        "sigmoid": lambda: torch.sigmoid(x, out=y),
        "softplus": lambda: torch._C._nn.softplus(x, out=y),
        "mish": lambda: torch._C._nn.mish(x, out=y),
        "elu": lambda: torch._C._nn.elu(x, out=y),
    }
    return table[act]


def numpy_fn(np, act, x, y):
    table = {
        "relu": lambda: np.maximum(x, 0, out=y),
        "tanh": lambda: np.tanh(x, out=y),
        "sigmoid": lambda: np.divide(1, np.add(1, np.exp(np.negative(x, out=y), out=y), out=y), out=y),
        "silu": lambda: np.multiply(x, np.divide(1, np.add(1, np.exp(np.negative(x, out=y), out=y), out=y), out=y), out=y),
    }
    return table.get(act)


def main():
    args = parse()
    if args.threads:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    shapes = [[int(d) for d in s.split("x")] for s in args.sizes.split(",") if s]
    acts = [a for a in args.activations.split(",") if a]
    libs = args.libraries.split(",")
    if "torch" in libs:
        try:
            import torch
        except Exception as e:
            torch = None
            print(json.dumps({"bench": "activations", "library": "torch",
                              "why": "torch not importable: %s" % e, "python": sys.executable}), flush=True)
        if torch is not None:
            if args.threads:
                torch.set_num_threads(args.threads)
            for shape in shapes:
                x = torch.randn(*shape, dtype=torch.float32) * 3
                y = torch.empty_like(x)
                for act in acts:
                    emit("torch", act, shape, timed(torch_fn(torch, act, x, y), args.repeat),
                         {"version": torch.__version__, "threads": torch.get_num_threads(),
                          "call": CALLS[act]})
    if "numpy" in libs:
        import numpy as np
        rng = np.random.default_rng(0)
        for shape in shapes:
            x = (rng.standard_normal(shape, dtype=np.float32) * 3)
            y = np.empty_like(x)
            for act in acts:
                fn = numpy_fn(np, act, x, y)
                if fn is None:
                    print(json.dumps({"bench": "activations", "library": "numpy", "activation": act,
                                      "shape": shape, "why": "no single numpy expression"}), flush=True)
                    continue
                emit("numpy", act, shape, timed(fn, args.repeat),
                     {"version": np.__version__, "threads": 1})


if __name__ == "__main__":
    main()
