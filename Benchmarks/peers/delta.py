#!/usr/bin/env python3
"""The dense baseline of `tensorbench delta` in numpy and PyTorch: y_t = x_t @ W + b for
each step of the input sequence, cold weights (a 96 MB buffer is read before each step, as
the Swift benchmark does). Prints {"peer", "label": "KxN", "min", "median", "version"}
over the steps. With --data DIR the sequence and layer are DIR/{xs,w,b}.npy (tensorbench
writes the ones it ran: xs [steps, K]); otherwise a random walk of the same shape.

    python3 Benchmarks/peers/delta.py --shape 4096x11008 --steps 200 --threads 2
"""
import argparse, itertools

from common import Flusher, emit, load_numpy, load_torch, set_threads, timed, why


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shape", default="4096x11008", help="K x N")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--data", default=None, help="directory with xs.npy [steps, K], w.npy [K, N], b.npy [N]")
    p.add_argument("--libraries", default="numpy,torch")
    args = p.parse_args()
    set_threads(args.threads)
    k, n = (int(d) for d in args.shape.split("x"))
    label = "%dx%d" % (k, n)
    libs = args.libraries.split(",")
    np, reason = load_numpy()
    if np is None:
        for lib in libs:
            why(lib, reason)
        return
    if args.data:
        xs, w, b = (np.load("%s/%s.npy" % (args.data, name)).astype(np.float32) for name in ("xs", "w", "b"))
    else:
        rng = np.random.default_rng(5)
        xs = np.cumsum(rng.standard_normal((args.steps, k), dtype=np.float32) * np.float32(0.02), axis=0, dtype=np.float32)
        xs += rng.standard_normal(k, dtype=np.float32)
        w = rng.standard_normal((k, n), dtype=np.float32) * np.float32(0.02)
        b = rng.standard_normal(n, dtype=np.float32) * np.float32(0.1)
    xs = xs.reshape(len(xs), 1, k)  # each step a [1, K] row, as ours
    flush = Flusher(np)
    if "numpy" in libs:
        rows = itertools.cycle(xs)  # the warm-up takes step 0; the timed runs cover every step
        emit("numpy", label, timed(lambda: next(rows) @ w + b, len(xs), between=flush), np.__version__,
             call="x_t @ W + b", steps=len(xs))
    if "torch" in libs:
        torch, reason = load_torch(args.threads)
        if torch is None:
            why("torch", reason)
            return
        tw, tb = torch.from_numpy(w), torch.from_numpy(b)
        rows = itertools.cycle([torch.from_numpy(x) for x in xs])
        emit("torch", label, timed(lambda: torch.addmm(tb, next(rows), tw), len(xs), between=flush), torch.__version__,
             call="torch.addmm(b, x_t, W)", steps=len(xs))


if __name__ == "__main__":
    main()
