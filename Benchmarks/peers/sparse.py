#!/usr/bin/env python3
"""numpy's dense x @ w for `tensorbench sparse`: cold weights, one JSON line per (shape, batch).

Prints {"peer": "numpy", "label": "KxN bB", "min": s, "median": s, "version": ...}; a 96 MB
buffer is read between timed runs so w comes from memory, as in the Swift benchmark.
"""
import argparse
import json

from common import Flusher, timed

try:
    import numpy as np
except ImportError as error:  # pragma: no cover
    print(json.dumps({"peer": "numpy", "why": f"numpy unavailable: {error}"}))
    raise SystemExit(0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shapes", default="4096x11008")
    parser.add_argument("--batches", default="1,4,16,64")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    flush = Flusher(np)
    for shape in args.shapes.split(","):
        k, n = (int(v) for v in shape.split("x"))
        w = (rng.standard_normal((k, n), dtype=np.float32) * 0.02).astype(np.float32)
        for batch in (int(b) for b in args.batches.split(",")):
            x = rng.standard_normal((batch, k), dtype=np.float32)
            if batch == 1:
                x = x[0]  # vector: numpy's gemv path, as ours uses sgemv
            lo, med = timed(lambda: x @ w, args.repeat, between=flush)
            print(json.dumps({"peer": "numpy", "label": f"{k}x{n} b{batch}", "min": lo,
                              "median": med, "version": np.__version__}), flush=True)
        del w


if __name__ == "__main__":
    main()
