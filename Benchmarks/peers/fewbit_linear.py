#!/usr/bin/env python3
"""Linear + GELU forward and backward (dx, dW, db) in PyTorch, for side-by-side runs with
`tensorbench fewbit`: y = gelu(x @ W + b), y.backward(g), gradients dropped after each
step (as ours clears them). Prints {"peer": "torch", "label": "exact", "min", "median",
"version"}; the fewbit reference project and numpy say why they have no figure.
With --data DIR, x, W and g come from DIR/{x,w,g}.npy (tensorbench writes the tensors it
times); otherwise x, g ~ N(0, 1) and W ~ N(0, 1 / inputs).

    python3 Benchmarks/peers/fewbit_linear.py --shape 256x1024x4096 --repeat 10 --threads 2
"""
import argparse

from common import emit, load_numpy, load_torch, set_threads, timed, why


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shape", default="256x1024x4096", help="rows x inputs x outputs")
    p.add_argument("--repeat", type=int, default=10)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--data", default=None, help="directory with x.npy, w.npy, g.npy")
    args = p.parse_args()
    set_threads(args.threads)
    rows, inputs, outputs = (int(d) for d in args.shape.split("x"))
    try:
        import fewbit  # noqa: F401
        why("fewbit", "fewbit is importable but this script does not time it")
    except Exception as error:
        why("fewbit", "fewbit (SkoltechAI's reference: a C++/CUDA PyTorch extension) is not installable here: %s" % error)
    why("numpy", "numpy has no autograd and no erf (exact GELU)")
    np, reason = load_numpy()
    torch, torch_reason = load_torch(args.threads)
    if np is None or torch is None:
        why("torch", torch_reason or reason)
        return
    if args.data:
        x, w, g = (torch.from_numpy(np.load("%s/%s.npy" % (args.data, n)).astype(np.float32)) for n in ("x", "w", "g"))
    else:
        gen = torch.Generator().manual_seed(0)
        x = torch.randn(rows, inputs, generator=gen)
        w = torch.randn(inputs, outputs, generator=gen) / inputs ** 0.5
        g = torch.randn(rows, outputs, generator=gen)
    if list(x.shape) != [rows, inputs] or list(w.shape) != [inputs, outputs] or list(g.shape) != [rows, outputs]:
        why("torch", "data in %s does not have shape %s" % (args.data, args.shape))
        return
    x.requires_grad_()
    w.requires_grad_()
    b = torch.zeros(outputs, requires_grad=True)
    F = torch.nn.functional

    def step():
        y = F.gelu(torch.addmm(b, x, w))
        y.backward(g)
        x.grad = w.grad = b.grad = None

    emit("torch", "exact", timed(step, args.repeat, warmup=2), torch.__version__,
         call="F.gelu(torch.addmm(b, x, W)).backward(g), grads to x, W, b")


if __name__ == "__main__":
    main()
