#!/usr/bin/env python3
"""The training runs of `tensorbench train` in PyTorch, same model, data, optimiser and
schedule, for side-by-side figures:

1. digits: MLP 64-512-512-10, GELU, Adam(lr 1e-3, betas 0.9/0.999, eps 1e-8), minibatches
   of 128 over the first 1400 digits in order (no shuffle), --epochs epochs, softmax
   cross-entropy (mean); test accuracy on the last 397. With --init DIR the initial
   weights are DIR/{w0,b0,w1,b1,w2,b2}.npy (w [in, out]; tensorbench writes its own), so
   the two runs start from the same point; otherwise N(0, 2 / (in + out)), zero biases.
2. teacher-student: MLP --widths (default 1024-4096-4096-1024) GELU student, SGD(lr 0.05,
   momentum 0.9), MSE against gelu(x @ T) of a random teacher T, fresh x ~ N(0, 1) each step.

Step time covers zero_grad, forward, loss, backward and the optimiser step (not reading
the loss back); the first epoch (digits) or step (teacher-student) is left out, as ours.
Prints {"peer": "torch", "label": "digits exact" | "teacher-student exact", "min",
"median", "version", "extra": {...}} (digits also "series": its loss per step).

    python3 Benchmarks/peers/train.py --epochs 15 --threads 2
"""
import argparse, os, time

from common import emit, load_numpy, load_torch, set_threads, why

HERE = os.path.dirname(os.path.abspath(__file__))


def parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.path.join(HERE, "..", "data"), help="directory with digits_x.npy, digits_y.npy")
    p.add_argument("--init", default=None, help="directory with w0,b0,w1,b1,w2,b2 .npy (digits initial weights)")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--train-count", type=int, default=1400)
    p.add_argument("--widths", default="1024,4096,4096,1024", help="teacher-student widths (in, hidden, hidden, out)")
    p.add_argument("--ts-batch", type=int, default=256)
    p.add_argument("--ts-steps", type=int, default=8)
    p.add_argument("--only", default="digits,teacher-student")
    p.add_argument("--threads", type=int, default=None)
    return p.parse_args()


def timed_step(optimizer, loss_of, seconds, losses):
    """One optimiser step on loss_of(), timed; appends its time and loss."""
    start = time.perf_counter()
    optimizer.zero_grad()
    loss = loss_of()
    loss.backward()
    optimizer.step()
    seconds.append(time.perf_counter() - start)
    losses.append(loss.item())


def summary(seconds):
    ordered = sorted(seconds)
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return ordered[0], median


def initial(torch, np, widths, init, seed):
    params = []
    gen = torch.Generator().manual_seed(seed)
    for layer, (fan_in, fan_out) in enumerate(zip(widths, widths[1:])):
        if init:
            w = torch.from_numpy(np.load("%s/w%d.npy" % (init, layer)).astype(np.float32))
            b = torch.from_numpy(np.load("%s/b%d.npy" % (init, layer)).astype(np.float32))
            if list(w.shape) != [fan_in, fan_out] or list(b.shape) != [fan_out]:
                raise ValueError("%s/w%d.npy is %s, want [%d, %d]" % (init, layer, list(w.shape), fan_in, fan_out))
        else:
            w = torch.randn(fan_in, fan_out, generator=gen) * (2 / (fan_in + fan_out)) ** 0.5
            b = torch.zeros(fan_out)
        params += [w.clone().requires_grad_(), b.clone().requires_grad_()]
    return params


def forward(torch, params, x):
    F = torch.nn.functional
    h = x
    for layer in range(0, len(params), 2):
        h = torch.addmm(params[layer + 1], h, params[layer])
        if layer + 2 < len(params):
            h = F.gelu(h)
    return h


def digits(torch, np, args):
    xs = np.load(os.path.join(args.data, "digits_x.npy")).astype(np.float32)
    ys = np.load(os.path.join(args.data, "digits_y.npy")).astype(np.int64)
    n = args.train_count
    batches = [(torch.from_numpy(xs[s:s + args.batch]), torch.from_numpy(ys[s:s + args.batch]))
               for s in range(0, n - args.batch + 1, args.batch)]
    params = initial(torch, np, [64, 512, 512, 10], args.init, seed=1)
    optimizer = torch.optim.Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    F = torch.nn.functional
    losses, seconds = [], []
    for _ in range(args.epochs):
        for x, y in batches:
            timed_step(optimizer, lambda: F.cross_entropy(forward(torch, params, x), y), seconds, losses)
    with torch.no_grad():
        predicted = forward(torch, params, torch.from_numpy(xs[n:])).argmax(dim=1).numpy()
    accuracy = float((predicted == ys[n:]).mean())
    final = sum(losses[-len(batches):]) / len(batches)
    emit("torch", "digits exact", summary(seconds[len(batches):]), torch.__version__,
         extra={"final_loss": final, "test_accuracy": accuracy}, series=losses,
         init="tensorbench's initial weights" if args.init else "N(0, 2 / (in + out))")


def teacher_student(torch, np, args):
    widths = [int(w) for w in args.widths.split(",")]
    gen = torch.Generator().manual_seed(7)
    teacher = torch.randn(widths[0], widths[3], generator=gen) / widths[0] ** 0.5
    params = initial(torch, np, widths, None, seed=11)
    optimizer = torch.optim.SGD(params, lr=0.05, momentum=0.9)
    F = torch.nn.functional
    losses, seconds = [], []
    for _ in range(args.ts_steps):
        x = torch.randn(args.ts_batch, widths[0], generator=gen)
        with torch.no_grad():
            target = F.gelu(x @ teacher)
        timed_step(optimizer, lambda: F.mse_loss(forward(torch, params, x), target), seconds, losses)
    # Its own teacher, data and initial weights: the step time is the comparison, the losses
    # only a sanity check (so no series for the loss plot).
    emit("torch", "teacher-student exact", summary(seconds[1:] or seconds), torch.__version__,
         extra={"first_loss": losses[0], "final_loss": losses[-1]})


def main():
    args = parse()
    set_threads(args.threads)
    np, reason = load_numpy()
    torch, torch_reason = load_torch(args.threads)
    if np is None or torch is None:
        why("torch", torch_reason or reason)
        return
    only = args.only.split(",")
    if "digits" in only:
        digits(torch, np, args)
    if "teacher-student" in only:
        teacher_student(torch, np, args)


if __name__ == "__main__":
    main()
