#!/usr/bin/env python3
"""Square float32 matrix products in numpy (and PyTorch when importable), for side-by-side
runs with `tensorbench matmul`. Prints one JSON line per (library, size):
min and median seconds over --repeat runs, and GFLOP/s at both.

    python3 Benchmarks/peers/matmul.py --sizes 1024,2048,4096 --repeat 5 --threads 2
"""
import argparse, json, os, sys

from common import timed


def parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="1024,2048,4096", help="comma-separated n for n x n x n")
    p.add_argument("--repeat", type=int, default=5, help="timed runs per shape (after one warm-up)")
    p.add_argument("--threads", type=int, default=None, help="threads for numpy's BLAS and torch")
    p.add_argument("--libraries", default="numpy,torch", help="which peers to run")
    return p.parse_args()


def emit(library, n, times, extra):
    flops = 2.0 * n ** 3
    lo, med = times
    rec = {"bench": "matmul", "library": library, "m": n, "n": n, "k": n, "dtype": "float32",
           "min_s": lo, "median_s": med, "gflops_at_min": flops / lo / 1e9, "gflops_at_median": flops / med / 1e9}
    rec.update(extra)
    print(json.dumps(rec), flush=True)


def main():
    args = parse()
    if args.threads:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    libs = args.libraries.split(",")
    import numpy as np
    rng = np.random.default_rng(0)
    if "numpy" in libs:
        try:
            cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
            blas = "%s %s" % (cfg.get("name"), cfg.get("version"))
        except Exception as e:  # older numpy
            blas = "unknown (%s)" % e
        for n in sizes:
            a = rng.standard_normal((n, n), dtype=np.float32)
            b = rng.standard_normal((n, n), dtype=np.float32)
            c = np.empty((n, n), np.float32)
            emit("numpy", n, timed(lambda: np.matmul(a, b, out=c), args.repeat),
                 {"version": np.__version__, "blas": blas, "threads": args.threads})
    if "torch" in libs:
        try:
            import torch
        except Exception as e:
            print(json.dumps({"bench": "matmul", "library": "torch", "why": "torch not importable: %s" % e,
                              "python": sys.executable}), flush=True)
            return
        if args.threads:
            torch.set_num_threads(args.threads)
        for n in sizes:
            a = torch.randn(n, n, dtype=torch.float32)
            b = torch.randn(n, n, dtype=torch.float32)
            c = torch.empty(n, n, dtype=torch.float32)
            emit("torch", n, timed(lambda: torch.matmul(a, b, out=c), args.repeat),
                 {"version": torch.__version__, "threads": torch.get_num_threads()})


if __name__ == "__main__":
    main()
