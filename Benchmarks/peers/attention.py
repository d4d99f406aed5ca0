#!/usr/bin/env python3
"""PyTorch CPU's fused attention for side-by-side runs with `tensorbench attention`:
torch.nn.functional.scaled_dot_product_attention(q, k, v) on [batch, heads, L, head_dim]
float32, forward under no_grad ("L<L> forward") and forward + backward of q, k and v from a
fixed output gradient ("L<L> forward+backward", gradients reset outside the timing). With
--data DIR the tensors are DIR/{q,k,v,grad}.npy (tensorbench writes the ones it times).

    python3 Benchmarks/peers/attention.py --batch 4 --heads 12 --length 512 --head-dim 32 --threads 2
"""
import argparse

from common import emit, set_threads, timed, load_numpy_and_torch


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--heads", type=int, default=12)
    p.add_argument("--length", type=int, default=128)
    p.add_argument("--head-dim", type=int, default=32)
    p.add_argument("--repeat", type=int, default=10)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--data", default=None, help="directory with q.npy, k.npy, v.npy, grad.npy")
    args = p.parse_args()
    set_threads(args.threads)
    np, torch = load_numpy_and_torch(args.threads)
    if torch is None:
        return
    shape = (args.batch, args.heads, args.length, args.head_dim)
    if args.data:
        q, k, v, g = (np.load("%s/%s.npy" % (args.data, name)).astype(np.float32) for name in ("q", "k", "v", "grad"))
    else:
        rng = np.random.default_rng(0)
        q, k, v, g = (rng.standard_normal(shape, dtype=np.float32) for _ in range(4))
    q, k, v, g = (torch.from_numpy(np.ascontiguousarray(a)) for a in (q, k, v, g))
    sdpa = torch.nn.functional.scaled_dot_product_attention
    label = "L%d" % args.length

    def forward():
        with torch.no_grad():
            sdpa(q, k, v)

    emit("torch", label + " forward", timed(forward, args.repeat), torch.__version__,
         call="F.scaled_dot_product_attention(q, k, v) under no_grad", threads=torch.get_num_threads())
    leaves = [t.clone().requires_grad_(True) for t in (q, k, v)]

    def reset():
        for leaf in leaves:
            leaf.grad = None

    def both():
        sdpa(*leaves).backward(g)

    emit("torch", label + " forward+backward", timed(both, args.repeat, between=reset), torch.__version__,
         call="F.scaled_dot_product_attention(q, k, v).backward(grad)", threads=torch.get_num_threads())


if __name__ == "__main__":
    main()
