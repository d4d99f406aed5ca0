#!/usr/bin/env python3
"""PyTorch on the GPU (CUDA) or, where there is none, the CPU: the peer figures of
scripts/device-check. Square matmul in float32 with TF32 off and on and in float16, and
linear + GELU (F.gelu(F.linear(x, w, b)), float32, TF32 off). Each figure is timed with the
device synchronised around every call; one JSON line per figure (common.emit):
{"peer": "torch-fp32" | "torch-tf32" | "torch-fp16" | "torch-linear-gelu", "label", "min",
"median", "version", "device"}. A figure that cannot be made says why instead. Stops
starting new figures once --budget seconds have passed (and says which were skipped).

    python3 Benchmarks/peers/gpu_torch.py --sizes 1024,2048,4096 --linear 256x1024x4096 --repeat 5
"""
import argparse
import time

from common import emit, load_torch, timed, why


def set_tf32(torch, on):
    """TF32 for float32 matmul on or off, through the newer fp32_precision switch where torch
    has it (mixing it with the legacy allow_tf32 flag is an error there), else allow_tf32."""
    matmul = torch.backends.cuda.matmul
    if hasattr(matmul, "fp32_precision"):
        matmul.fp32_precision = "tf32" if on else "ieee"
    else:
        matmul.allow_tf32 = on


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="1024,2048,4096", help="n for the n x n x n products")
    p.add_argument("--linear", default="64x1024x4096,256x1024x4096,1024x1024x4096", help="m x k x n shapes")
    p.add_argument("--repeat", type=int, default=5, help="timed runs per figure (after one warm-up)")
    p.add_argument("--device", default="auto", help="cuda, cpu or auto (cuda when available)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (when on the CPU)")
    p.add_argument("--budget", type=float, default=1e9, help="seconds after which no new figure starts")
    args = p.parse_args()
    start = time.monotonic()
    torch, reason = load_torch(args.threads)
    if torch is None:
        why("torch", reason)
        return
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    name = torch.cuda.get_device_name(0) if device == "cuda" else "cpu"
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def run(fn):
        def call():
            fn()
            sync()
        return timed(call, args.repeat)

    def figure(peer, label, make):
        if time.monotonic() - start > args.budget:
            why(peer, "skipped: the %.0f s budget was spent" % args.budget, label=label)
            return
        try:
            emit(peer, label, make(), torch.__version__, device=name)
        except Exception as error:  # out of memory, a dtype the CPU lacks: say so, go on
            why(peer, "%s: %s" % (type(error).__name__, error), label=label)
        finally:
            if device == "cuda":
                torch.cuda.empty_cache()

    generator = torch.Generator(device=device).manual_seed(0)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    for n in sizes:
        a = torch.randn(n, n, device=device, generator=generator)
        b = torch.randn(n, n, device=device, generator=generator)
        c = torch.empty(n, n, device=device)
        for peer, tf32 in (("torch-fp32", False), ("torch-tf32", True)):
            if device == "cuda":
                set_tf32(torch, tf32)
            elif tf32:
                why(peer, "TF32 is a CUDA mode", label="%d" % n)
                continue
            figure(peer, "%d" % n, lambda: run(lambda: torch.matmul(a, b, out=c)))
        if device == "cuda":
            set_tf32(torch, False)
        a16, b16 = a.half(), b.half()
        c16 = torch.empty(n, n, device=device, dtype=torch.float16)
        figure("torch-fp16", "%d float16" % n, lambda: run(lambda: torch.matmul(a16, b16, out=c16)))
        del a, b, c, a16, b16, c16
    import torch.nn.functional as F
    for shape in [s for s in args.linear.split(",") if s]:
        m, k, n = (int(d) for d in shape.split("x"))
        x = torch.randn(m, k, device=device, generator=generator)
        w = torch.randn(n, k, device=device, generator=generator) / k ** 0.5
        bias = torch.randn(n, device=device, generator=generator)
        figure("torch-linear-gelu", "gelu %s" % shape, lambda: run(lambda: F.gelu(F.linear(x, w, bias))))


if __name__ == "__main__":
    main()
