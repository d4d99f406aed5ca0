#!/usr/bin/env python3
"""Elementwise activations on float32 tensors in PyTorch (and numpy where it has a
natural expression), forward and backward, for side-by-side runs with `tensorbench
activations`. Prints one JSON line per (library, activation, pass, shape): min and median
seconds and Gelem/s at both; "label" is "<activation> forward" or "<activation> backward".

Backward is grad_in = grad_out * f'(x), the work our activationBackward does: PyTorch's
aten backward op (what autograd calls; tanh and sigmoid take the saved output, computed
outside the timing, as autograd saves it), numpy's formula for f'(x) from x.
With --data DIR, x and the gradient are DIR/x.npy and DIR/grad.npy (tensorbench writes
the tensors it times); otherwise x ~ 3 N(0, 1), grad ~ N(0, 1).

    python3 Benchmarks/peers/activations.py --sizes 4096x4096 --repeat 10 --threads 2
"""
import argparse, json, sys

from common import load_numpy, load_torch, set_threads, timed

ACTIVATIONS = ["gelu", "gelu_tanh", "silu", "relu", "tanh", "sigmoid", "softplus", "mish", "elu", "leaky_relu"]
PASSES = ["forward", "backward"]


def parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="4096x4096", help="comma-separated shapes like 4096x4096 or 1000000")
    p.add_argument("--repeat", type=int, default=10, help="timed runs per shape (after one warm-up)")
    p.add_argument("--threads", type=int, default=None, help="intra-op threads")
    p.add_argument("--activations", default="gelu,silu", help="comma-separated, from: " + ",".join(ACTIVATIONS))
    p.add_argument("--passes", default="forward,backward", help="comma-separated, from: forward,backward")
    p.add_argument("--libraries", default="torch,numpy", help="which peers to run")
    p.add_argument("--data", default=None, help="directory with x.npy and grad.npy (one shape only)")
    return p.parse_args()


def emit(library, act, pas, shape, times, extra):
    count = 1
    for d in shape:
        count *= d
    lo, med = times
    rec = {"bench": "activations", "library": library, "activation": act, "pass": pas, "label": act + " " + pas,
           "shape": shape, "dtype": "float32", "min_s": lo, "median_s": med,
           "gelem_per_s_at_min": count / lo / 1e9, "gelem_per_s_at_median": count / med / 1e9}
    rec.update(extra)
    print(json.dumps(rec), flush=True)


def missing(library, act, pas, shape, reason):
    print(json.dumps({"bench": "activations", "library": library, "activation": act, "pass": pas,
                      "label": act + " " + pas, "shape": shape, "why": reason}), flush=True)


# What each PyTorch figure times, as recorded in the JSON.
CALLS = {
    ("gelu", "forward"): "torch.nn.functional.gelu(x, out=y)",
    ("gelu_tanh", "forward"): "torch._C._nn.gelu(x, approximate='tanh', out=y)",
    ("silu", "forward"): "torch._C._nn.silu(x, out=y) (what torch.nn.functional.silu calls)",
    ("relu", "forward"): "torch.clamp_min(x, 0, out=y)",
    ("tanh", "forward"): "torch.tanh(x, out=y)",
    ("sigmoid", "forward"): "torch.sigmoid(x, out=y)",
    ("softplus", "forward"): "torch._C._nn.softplus(x, out=y)",
    ("mish", "forward"): "torch._C._nn.mish(x, out=y)",
    ("elu", "forward"): "torch._C._nn.elu(x, out=y)",
    ("leaky_relu", "forward"): "torch._C._nn.leaky_relu(x, 0.01, out=y)",
    ("gelu", "backward"): "aten.gelu_backward.grad_input(g, x, approximate='none', grad_input=y)",
    ("gelu_tanh", "backward"): "aten.gelu_backward.grad_input(g, x, approximate='tanh', grad_input=y)",
    ("silu", "backward"): "aten.silu_backward.grad_input(g, x, grad_input=y)",
    ("relu", "backward"): "aten.threshold_backward.grad_input(g, x, 0, grad_input=y)",
    ("tanh", "backward"): "aten.tanh_backward.grad_input(g, tanh(x), grad_input=y) (output saved untimed)",
    ("sigmoid", "backward"): "aten.sigmoid_backward.grad_input(g, sigmoid(x), grad_input=y) (output saved untimed)",
    ("softplus", "backward"): "aten.softplus_backward.grad_input(g, x, 1, 20, grad_input=y)",
    ("mish", "backward"): "aten.mish_backward(g, x) (no out= overload)",
    ("elu", "backward"): "aten.elu_backward.grad_input(g, 1, 1, 1, False, x, grad_input=y)",
    ("leaky_relu", "backward"): "aten.leaky_relu_backward.grad_input(g, x, 0.01, False, grad_input=y)",
}


def torch_fn(torch, act, pas, x, g, y):
    F, nn, aten = torch.nn.functional, torch._C._nn, torch.ops.aten
    if pas == "forward":
        return {
            "gelu": lambda: F.gelu(x, out=y),
            "gelu_tanh": lambda: nn.gelu(x, approximate="tanh", out=y),
            "silu": lambda: nn.silu(x, out=y),
            "relu": lambda: torch.clamp_min(x, 0, out=y),
            "tanh": lambda: torch.tanh(x, out=y),
            "sigmoid": lambda: torch.sigmoid(x, out=y),
            "softplus": lambda: nn.softplus(x, out=y),
            "mish": lambda: nn.mish(x, out=y),
            "elu": lambda: nn.elu(x, out=y),
            "leaky_relu": lambda: nn.leaky_relu(x, 0.01, out=y),
        }[act]
    if act == "tanh":
        saved = torch.tanh(x)
        return lambda: aten.tanh_backward.grad_input(g, saved, grad_input=y)
    if act == "sigmoid":
        saved = torch.sigmoid(x)
        return lambda: aten.sigmoid_backward.grad_input(g, saved, grad_input=y)
    return {
        "gelu": lambda: aten.gelu_backward.grad_input(g, x, approximate="none", grad_input=y),
        "gelu_tanh": lambda: aten.gelu_backward.grad_input(g, x, approximate="tanh", grad_input=y),
        "silu": lambda: aten.silu_backward.grad_input(g, x, grad_input=y),
        "relu": lambda: aten.threshold_backward.grad_input(g, x, 0, grad_input=y),
        "softplus": lambda: aten.softplus_backward.grad_input(g, x, 1, 20, grad_input=y),
        "mish": lambda: aten.mish_backward(g, x),
        "elu": lambda: aten.elu_backward.grad_input(g, 1.0, 1, 1, False, x, grad_input=y),
        "leaky_relu": lambda: aten.leaky_relu_backward.grad_input(g, x, 0.01, False, grad_input=y),
    }[act]


def numpy_fn(np, act, pas, x, g, y, z):
    """numpy's expression for the activation (forward) or grad * f'(x) (backward), into y
    with z as scratch; None where numpy has no natural expression (no erf: exact GELU)."""

    def sigmoid(out):  # 1 / (1 + exp(-x)) into out
        return np.divide(1, np.add(1, np.exp(np.negative(x, out=out), out=out), out=out), out=out)

    def gelu_tanh():  # 0.5 x (1 + tanh(c (x + a x^3)))
        c, a = np.float32((2 / np.pi) ** 0.5), np.float32(0.044715)
        np.multiply(x, x, out=y)
        np.multiply(y, a, out=y)
        np.add(y, 1, out=y)
        np.multiply(y, x, out=y)
        np.tanh(np.multiply(y, c, out=y), out=y)
        np.add(y, 1, out=y)
        return np.multiply(np.multiply(y, x, out=y), np.float32(0.5), out=y)

    if pas == "forward":
        return {
            "gelu_tanh": gelu_tanh,
            "mish": lambda: np.multiply(x, np.tanh(np.logaddexp(0, x, out=y), out=y), out=y),
            "relu": lambda: np.maximum(x, 0, out=y),
            "tanh": lambda: np.tanh(x, out=y),
            "sigmoid": lambda: sigmoid(y),
            "silu": lambda: np.multiply(x, sigmoid(y), out=y),
            "softplus": lambda: np.logaddexp(0, x, out=y),
            "elu": lambda: np.where(x > 0, x, np.expm1(np.minimum(x, 0, out=z), out=z)),
            "leaky_relu": lambda: np.where(x > 0, x, np.multiply(x, np.float32(0.01), out=z)),
        }.get(act)

    def tanh_backward():  # g (1 - tanh(x)^2)
        t = np.tanh(x, out=y)
        return np.multiply(g, np.subtract(1, np.multiply(t, t, out=y), out=y), out=y)

    def sigmoid_backward():  # g s (1 - s)
        s = sigmoid(z)
        return np.multiply(g, np.multiply(s, np.subtract(1, s, out=y), out=y), out=y)

    def silu_backward():  # g s (1 + x (1 - s))
        s = sigmoid(z)
        np.subtract(1, s, out=y)
        np.multiply(y, x, out=y)
        np.add(y, 1, out=y)
        return np.multiply(g, np.multiply(y, s, out=y), out=y)

    def gelu_tanh_backward():  # 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 a x^2), t = tanh(c (x + a x^3))
        c, a = np.float32((2 / np.pi) ** 0.5), np.float32(0.044715)
        np.multiply(x, x, out=z)  # x^2
        np.multiply(z, a, out=y)
        np.add(y, 1, out=y)
        np.multiply(y, x, out=y)
        np.multiply(y, c, out=y)
        t = np.tanh(y, out=y)  # t
        np.multiply(z, 3 * a, out=z)
        np.add(z, 1, out=z)
        np.multiply(z, c, out=z)
        np.multiply(z, x, out=z)  # x c (1 + 3 a x^2)
        np.multiply(z, np.subtract(1, np.multiply(t, t), dtype=np.float32), out=z)
        np.add(z, t, out=z)
        np.add(z, 1, out=z)
        return np.multiply(g, np.multiply(z, np.float32(0.5), out=z), out=y)

    def mish_backward():  # g (t + x (1 - t^2) sigmoid(x)), t = tanh(softplus(x))
        t = np.tanh(np.logaddexp(0, x, out=y), out=y)
        s = sigmoid(z)
        np.multiply(s, x, out=z)
        np.multiply(z, np.subtract(1, np.multiply(t, t), dtype=np.float32), out=z)
        np.add(z, t, out=z)
        return np.multiply(g, z, out=y)

    return {
        "relu": lambda: np.multiply(g, x > 0, out=y),
        "tanh": tanh_backward,
        "sigmoid": sigmoid_backward,
        "silu": silu_backward,
        "softplus": lambda: np.multiply(g, sigmoid(y), out=y),
        "gelu_tanh": gelu_tanh_backward,
        "mish": mish_backward,
        "elu": lambda: np.multiply(g, np.exp(np.minimum(x, 0, out=y), out=y), out=y),
        "leaky_relu": lambda: np.where(x > 0, g, np.multiply(g, np.float32(0.01), out=z)),
    }.get(act)


def main():
    args = parse()
    set_threads(args.threads)
    shapes = [[int(d) for d in s.split("x")] for s in args.sizes.split(",") if s]
    acts = [a for a in args.activations.split(",") if a]
    passes = [p for p in args.passes.split(",") if p]
    libs = args.libraries.split(",")
    np, reason = load_numpy()
    if np is None:
        for lib in libs:
            print(json.dumps({"bench": "activations", "library": lib, "why": reason, "python": sys.executable}), flush=True)
        return

    def inputs(shape):
        if args.data:
            x, g = np.load(args.data + "/x.npy"), np.load(args.data + "/grad.npy")
            if list(x.shape) == shape and list(g.shape) == shape:
                return x.astype(np.float32), g.astype(np.float32)
        rng = np.random.default_rng(0)
        return rng.standard_normal(shape, dtype=np.float32) * 3, rng.standard_normal(shape, dtype=np.float32)

    if "torch" in libs:
        torch, reason = load_torch(args.threads)
        if torch is None:
            print(json.dumps({"bench": "activations", "library": "torch", "why": reason, "python": sys.executable}), flush=True)
        else:
            for shape in shapes:
                xs, gs = inputs(shape)
                x, g = torch.from_numpy(xs), torch.from_numpy(gs)
                y = torch.empty_like(x)
                for act in acts:
                    for pas in passes:
                        emit("torch", act, pas, shape, timed(torch_fn(torch, act, pas, x, g, y), args.repeat),
                             {"version": torch.__version__, "threads": torch.get_num_threads(), "call": CALLS[(act, pas)]})
    if "numpy" in libs:
        for shape in shapes:
            x, g = inputs(shape)
            y, z = np.empty_like(x), np.empty_like(x)
            for act in acts:
                for pas in passes:
                    fn = numpy_fn(np, act, pas, x, g, y, z)
                    if fn is None:
                        missing("numpy", act, pas, shape, "numpy has no erf (exact GELU)" if act == "gelu"
                                else "no natural numpy expression")
                        continue
                    emit("numpy", act, pas, shape, timed(fn, args.repeat), {"version": np.__version__, "threads": 1})


if __name__ == "__main__":
    main()
