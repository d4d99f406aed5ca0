#!/usr/bin/env python3
"""LayerNorm and RMSNorm over the last axis in PyTorch, forward and forward + backward, for
side-by-side runs with `tensorbench layernorm`. Prints one JSON line per (norm, pass):
{"peer": "torch", "label": "<norm> <pass>", "min": s, "median": s, ...}.

forward: F.layer_norm(x, [C], w, b, 1e-12) / F.rms_norm(x, [C], w, 1e-6).
forward+backward: the same on leaves that require grad, then y.backward(grad) (gradients of
x, w and b; the previous .grad is dropped first, inside the timing, as tensorbench does).
With --data DIR, x, grad, weight and bias are DIR/<name>.npy (tensorbench writes the
tensors it times); otherwise random.

    python3 Benchmarks/peers/norms.py --rows 4096 --columns 384 --repeat 20 --threads 2
"""
import argparse, sys

from common import emit, load_numpy, load_torch, set_threads, timed, why

LABELS = ["layernorm forward", "layernorm forward+backward", "rmsnorm forward", "rmsnorm forward+backward"]


def parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=4096)
    p.add_argument("--columns", type=int, default=384)
    p.add_argument("--repeat", type=int, default=20, help="timed runs (after one warm-up)")
    p.add_argument("--threads", type=int, default=None, help="intra-op threads")
    p.add_argument("--data", default=None, help="directory with x.npy, grad.npy, weight.npy, bias.npy")
    return p.parse_args()


def main():
    args = parse()
    set_threads(args.threads)
    np, reason = load_numpy()
    torch, torch_reason = (None, reason) if np is None else load_torch(args.threads)
    if torch is None:
        why("torch", "%s (python %s)" % (torch_reason, sys.executable))
        return
    shape, c = [args.rows, args.columns], args.columns
    if args.data:
        arrays = {n: np.load("%s/%s.npy" % (args.data, n)).astype(np.float32) for n in ["x", "grad", "weight", "bias"]}
    else:
        rng = np.random.default_rng(0)
        arrays = {"x": rng.standard_normal(shape, dtype=np.float32), "grad": rng.standard_normal(shape, dtype=np.float32),
                  "weight": 1 + 0.1 * rng.standard_normal([c], dtype=np.float32),
                  "bias": 0.1 * rng.standard_normal([c], dtype=np.float32)}
    x, g, w, b = (torch.from_numpy(arrays[n]) for n in ["x", "grad", "weight", "bias"])
    F = torch.nn.functional
    if not hasattr(F, "rms_norm"):
        why("torch", "torch %s has no F.rms_norm" % torch.__version__, label="rmsnorm forward")
        why("torch", "torch %s has no F.rms_norm" % torch.__version__, label="rmsnorm forward+backward")
    leaves = [t.clone().requires_grad_() for t in (x, w, b)]

    def forward(norm, xs, ws, bs):
        if norm == "layernorm":
            return F.layer_norm(xs, [c], ws, bs, 1e-12)
        return F.rms_norm(xs, [c], ws, 1e-6)

    for label in LABELS:
        norm, pas = label.split(" ")
        if norm == "rmsnorm" and not hasattr(F, "rms_norm"):
            continue
        if pas == "forward":
            def fn():
                with torch.no_grad():
                    forward(norm, x, w, b)
        else:
            def fn():
                for leaf in leaves:
                    leaf.grad = None
                forward(norm, *leaves).backward(g)
        emit("torch", label, timed(fn, args.repeat), torch.__version__, threads=torch.get_num_threads())


if __name__ == "__main__":
    main()
