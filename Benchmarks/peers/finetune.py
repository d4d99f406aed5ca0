#!/usr/bin/env python3
"""The fine-tuning run of `tensorbench finetune` in PyTorch: transformers' BertModel on
all-MiniLM-L6-v2 (float32, no dropout) with masked mean pooling and a linear head, trained on
the batches tensorbench wrote, with the same optimiser and schedule, so the loss curves and
test accuracies can be compared.

tensorbench passes --config, a JSON object {"learningRate", "warmup", "steps",
"weightDecay", "clip"}, --model (the checkpoint directory) and --data DIR holding:
- tokens.npy int32 [steps, batch, width] (padded with [PAD]), mask.npy float32 [steps,
  batch, width] (1 real token, 0 padding), labels.npy int32 [steps, batch];
- test_tokens.npy, test_mask.npy [batches, rows, width], test_labels.npy [batches, rows]
  (-1: no text in that row);
- head.weight.npy float32 [features, classes] (the engine's [in, out] layout), head.bias.npy.
Each batch is cut to its longest text (the width of its mask), as the engine pads it.

Optimiser: AdamW(lr, betas 0.9/0.999, eps 1e-8, weight_decay) over every parameter, linear
warm-up then linear decay (a LambdaLR), clip_grad_norm_ to `clip` before each step. Loss
recorded before each update.

Prints {"peer": "torch", "label": "exact", "min", "median" (one step, the first left out),
"version", "series": [loss per step], "extra": {"test_accuracy", "peak_rss_bytes" (VmHWM),
"baseline_rss_bytes" (VmRSS before the first step)}}.

    python3 Benchmarks/peers/finetune.py --data DIR --model .cache/models/all-MiniLM-L6-v2 \\
        --threads 2 --config '{"learningRate": 1e-4, "warmup": 6, "steps": 60,
                               "weightDecay": 0.01, "clip": 1.0}'
"""
import argparse, json, os, time

from common import emit, set_threads, why, load_numpy_and_torch


def resident(field):
    """VmRSS / VmHWM of this process in bytes, or None off Linux."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--config", required=True)
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args()
    set_threads(args.threads)
    np, torch = load_numpy_and_torch(args.threads)
    if torch is None:
        return
    try:
        from transformers import BertModel, logging as transformers_logging
        transformers_logging.set_verbosity_error()  # not the unused pooler's load report
    except Exception as error:
        why("torch", "transformers not importable: %s" % error)
        return
    if not os.path.isdir(args.model):
        why("torch", "%s is missing: run scripts/install-deps --models" % args.model)
        return
    config = json.loads(args.config)
    load = lambda name: np.load(os.path.join(args.data, name + ".npy"))
    tokens, masks, labels = load("tokens"), load("mask"), load("labels")
    test_tokens, test_masks, test_labels = load("test_tokens"), load("test_mask"), load("test_labels")

    torch.manual_seed(0)
    body = BertModel.from_pretrained(args.model, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                                     add_pooling_layer=False, attn_implementation="eager")
    body.train()
    head = torch.nn.Linear(body.config.hidden_size, int(load("head.weight").shape[1]))
    with torch.no_grad():
        head.weight.copy_(torch.tensor(load("head.weight")).t())
        head.bias.copy_(torch.tensor(load("head.bias")))
    parameters = list(body.parameters()) + list(head.parameters())

    def batch(ids, mask):
        width = max(1, int(mask.sum(1).max()))
        return torch.tensor(ids[:, :width].astype(np.int64)), torch.tensor(mask[:, :width])

    def logits_of(ids, mask):
        hidden = body(input_ids=ids, attention_mask=mask.to(torch.int64)).last_hidden_state
        weights = mask.unsqueeze(-1)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return head(pooled)

    optimizer = torch.optim.AdamW(parameters, lr=config["learningRate"], betas=(0.9, 0.999), eps=1e-8,
                                  weight_decay=config["weightDecay"])
    warmup, total = config["warmup"], config["steps"]

    def factor(step):
        if step < warmup:
            return step / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    inputs = [batch(tokens[s], masks[s]) + (torch.tensor(labels[s].astype(np.int64)),) for s in range(total)]
    baseline = resident("VmRSS")
    losses, seconds = [], []
    for ids, mask, target in inputs:
        start = time.perf_counter()
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(logits_of(ids, mask), target)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, config["clip"])
        optimizer.step()
        schedule.step()
        seconds.append(time.perf_counter() - start)
        losses.append(loss.item())

    correct = count = 0
    with torch.no_grad():
        for b in range(test_tokens.shape[0]):
            rows = test_labels[b] >= 0
            ids, mask = batch(test_tokens[b][rows], test_masks[b][rows])
            predicted = logits_of(ids, mask).argmax(1).numpy()
            correct += int((predicted == test_labels[b][rows]).sum())
            count += int(rows.sum())
    timed = sorted(seconds[1:] or seconds)
    extra = {"test_accuracy": correct / max(count, 1), "final_loss": sum(losses[-10:]) / len(losses[-10:])}
    for name, value in (("peak_rss_bytes", resident("VmHWM")), ("baseline_rss_bytes", baseline)):
        if value is not None:
            extra[name] = value
    emit("torch", "exact", (timed[0], timed[len(timed) // 2]), torch.__version__, extra=extra, series=losses)


if __name__ == "__main__":
    main()
