#!/usr/bin/env python3
"""Embedding lookup in PyTorch, forward and backward, for side-by-side runs with
`tensorbench embedding`. Prints one JSON line per pass: min and median seconds; "label" is
"embedding forward" or "embedding backward".

Forward is torch.nn.functional.embedding(ids, weight) (int64 ids, converted outside the
timing, as a PyTorch user holds them); backward is y.backward(g, retain_graph=True) with
weight.grad = None before each run (outside the timing), so each run builds the dense
[V, D] gradient from zeros, as our backward does. With --data DIR, the ids, table and
gradient are DIR/ids.npy, DIR/weight.npy and DIR/grad.npy (tensorbench writes the tensors it
times); otherwise they are random.

    python3 Benchmarks/peers/embedding.py --vocab 30522 --width 384 --ids 32x128 --repeat 20 --threads 2
"""
import argparse, sys

from common import emit, set_threads, timed, load_numpy_and_torch


def parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--vocab", type=int, default=30522)
    p.add_argument("--width", type=int, default=384)
    p.add_argument("--ids", default="32x128", help="shape of the id tensor, like 32x128")
    p.add_argument("--repeat", type=int, default=20, help="timed runs (after one warm-up)")
    p.add_argument("--threads", type=int, default=None, help="intra-op threads")
    p.add_argument("--data", default=None, help="directory with ids.npy, weight.npy and grad.npy")
    return p.parse_args()


def main():
    args = parse()
    set_threads(args.threads)
    shape = [int(d) for d in args.ids.split("x")]
    np, torch = load_numpy_and_torch(args.threads)
    if torch is None:
        return
    if args.data:
        ids = np.load(args.data + "/ids.npy").astype(np.int64)
        table = np.load(args.data + "/weight.npy").astype(np.float32)
        grad = np.load(args.data + "/grad.npy").astype(np.float32)
    else:
        rng = np.random.default_rng(0)
        ids = rng.integers(0, args.vocab, size=shape, dtype=np.int64)
        table = rng.standard_normal((args.vocab, args.width), dtype=np.float32) * 0.02
        grad = rng.standard_normal(shape + [args.width], dtype=np.float32)
    F = torch.nn.functional
    x = torch.from_numpy(ids)
    w = torch.from_numpy(table).requires_grad_(True)
    g = torch.from_numpy(grad)
    info = {"threads": torch.get_num_threads(), "python": sys.executable}
    with torch.no_grad():
        emit("torch", "embedding forward", timed(lambda: F.embedding(x, w), args.repeat), torch.__version__,
             call="torch.nn.functional.embedding(ids, weight) under no_grad", **info)
    y = F.embedding(x, w)

    def clear():
        w.grad = None

    emit("torch", "embedding backward", timed(lambda: y.backward(g, retain_graph=True), args.repeat, between=clear),
         torch.__version__, call="y.backward(g, retain_graph=True), weight.grad = None between runs", **info)


if __name__ == "__main__":
    main()
