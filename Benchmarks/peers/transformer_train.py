#!/usr/bin/env python3
"""The transformer training runs of `tensorbench transformer` in PyTorch: same model, same
initial weights, same batches, same optimiser and schedule, so the loss curves can be
compared step by step.

tensorbench passes --config, a JSON object {"model": "gpt" | "bert", "heads", "layers",
"epsilon", "learningRate", "warmup", "steps", "weightDecay", "clip"}, and writes a
directory DIR (--data) with:
- one <name>.npy per parameter, named as the engine names them (weights [in, out]):
  tokenEmbedding.weight, positionEmbedding.weight, [embeddingNorm.*], layers.N.attention.
  {query,key,value,output}.{weight,bias}, layers.N.attentionNorm.*, layers.N.feedForwardUp.*,
  layers.N.feedForwardDown.*, layers.N.feedForwardNorm.*, [finalNorm.*], head.weight, head.bias;
- tokens.npy int32 [steps, batch, length]; targets.npy int32 ([steps, batch, length] of
  next characters for gpt, [steps, batch] of classes for bert); mask.npy float32
  [steps, batch, length] (bert: 1 real token, 0 padding).

The models (exact erf GELU, no dropout):
- gpt: pre-LN decoder, causal attention, learned positions, final LayerNorm, a linear head
  over the vocabulary; loss: mean cross-entropy of every next character.
- bert: post-LN encoder with a padding mask (additive, the most negative float), an
  embedding LayerNorm, masked mean pooling, a linear head over the classes; loss: mean
  cross-entropy of the classes.
Optimiser: AdamW(lr, betas 0.9/0.999, eps 1e-8, weight_decay), linear warm-up then linear
decay (transformers' get_linear_schedule_with_warmup as a LambdaLR), clip_grad_norm_ to
`clip` before each step. Loss recorded before each update.

Prints {"peer": "torch", "label": "<model>", "min", "median", "version", "series": [loss
per step]} (times: one step, the first left out).

    python3 Benchmarks/peers/transformer_train.py --data /tmp/gpt --threads 2 \
        --config '{"model": "gpt", "heads": 4, "layers": 2, "epsilon": 1e-5, "learningRate": 1e-3,
                   "warmup": 5, "steps": 50, "weightDecay": 0.01, "clip": 1.0}'
"""
import argparse, json, os, time

from common import emit, set_threads, load_numpy_and_torch


def parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="the directory tensorbench wrote")
    p.add_argument("--config", required=True, help="the run's JSON configuration")
    p.add_argument("--threads", type=int, default=None)
    return p.parse_args()


def main():
    args = parse()
    set_threads(args.threads)
    np, torch = load_numpy_and_torch(args.threads)
    if torch is None:
        return
    F = torch.nn.functional
    config = json.loads(args.config)
    model = config["model"]
    names = sorted(n[:-4] for n in os.listdir(args.data) if n.endswith(".npy")
                   and n not in ("tokens.npy", "targets.npy", "mask.npy"))
    params = {n: torch.tensor(np.load(os.path.join(args.data, n + ".npy")), dtype=torch.float32, requires_grad=True)
              for n in names}
    tokens = torch.tensor(np.load(os.path.join(args.data, "tokens.npy")).astype(np.int64))
    targets = torch.tensor(np.load(os.path.join(args.data, "targets.npy")).astype(np.int64))
    mask_path = os.path.join(args.data, "mask.npy")
    masks = torch.tensor(np.load(mask_path)) if os.path.exists(mask_path) else None
    heads, eps, layers = config["heads"], config["epsilon"], config["layers"]

    def linear(x, name):
        y = x @ params[name + ".weight"]
        bias = params.get(name + ".bias")
        return y + bias if bias is not None else y

    def norm(x, name):
        return F.layer_norm(x, (x.shape[-1],), params[name + ".weight"], params[name + ".bias"], eps)

    def attention(x, prefix, mask, causal):
        b, l, d = x.shape
        split = lambda t: t.reshape(b, l, heads, d // heads).permute(0, 2, 1, 3)
        q, k, v = (split(linear(x, prefix + "." + part)) for part in ("query", "key", "value"))
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal)
        return linear(a.permute(0, 2, 1, 3).reshape(b, l, d), prefix + ".output")

    def feed_forward(x, prefix):
        return linear(F.gelu(linear(x, prefix + ".feedForwardUp")), prefix + ".feedForwardDown")

    def loss_of(step):
        ids = tokens[step]
        b, l = ids.shape
        x = params["tokenEmbedding.weight"][ids] + params["positionEmbedding.weight"][:l]
        if model == "gpt":
            for i in range(layers):
                p = "layers.%d" % i
                x = x + attention(norm(x, p + ".attentionNorm"), p + ".attention", None, True)
                x = x + feed_forward(norm(x, p + ".feedForwardNorm"), p)
            logits = linear(norm(x, "finalNorm"), "head")
            return F.cross_entropy(logits.reshape(b * l, -1), targets[step].reshape(-1))
        mask = masks[step]
        additive = ((1 - mask) * torch.finfo(torch.float32).min).reshape(b, 1, 1, l)
        x = norm(x, "embeddingNorm")
        for i in range(layers):
            p = "layers.%d" % i
            x = norm(x + attention(x, p + ".attention", additive, False), p + ".attentionNorm")
            x = norm(x + feed_forward(x, p), p + ".feedForwardNorm")
        weights = mask.unsqueeze(-1)
        pooled = (x * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return F.cross_entropy(linear(pooled, "head"), targets[step])

    optimizer = torch.optim.AdamW(list(params.values()), lr=config["learningRate"], betas=(0.9, 0.999), eps=1e-8,
                                  weight_decay=config["weightDecay"])
    warmup, total = config["warmup"], config["steps"]

    def factor(step):
        if step < warmup:
            return step / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    losses, seconds = [], []
    for step in range(total):
        start = time.perf_counter()
        optimizer.zero_grad()
        loss = loss_of(step)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(params.values()), config["clip"])
        optimizer.step()
        schedule.step()
        seconds.append(time.perf_counter() - start)
        losses.append(loss.item())
    timed = sorted(seconds[1:] or seconds)
    emit("torch", model, (timed[0], timed[len(timed) // 2]), torch.__version__, series=losses)


if __name__ == "__main__":
    main()
