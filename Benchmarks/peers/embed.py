#!/usr/bin/env python3
"""The sentence embeddings of `tensorbench embed` in PyTorch: transformers' BertModel on
all-MiniLM-L6-v2 (float32, eval, no grad) with sentence-transformers' recipe (BertTokenizer,
mean pooling over the attention mask, L2 normalisation), on the texts tensorbench wrote.

--data DIR holds texts.json (a JSON list of strings). For each --batches size B the texts run
in batches of B sorted by token count (as sentence-transformers and our SentenceEmbedder do),
--repeat times; each run's seconds give texts/s. Prints {"peer": "torch", "label": "batch B",
"min", "median" (seconds for all the texts), "version"}. With --out FILE it also writes the
embeddings of every text (JSON list of lists), the reference for the cosine check.

    python3 Benchmarks/peers/embed.py --data DIR --batches 1,32 --repeat 3 --threads 2
"""
import argparse, json, os, time

from common import emit, load_torch, set_threads, why

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.normpath(os.path.join(HERE, "../../.cache/models/all-MiniLM-L6-v2"))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True)
    p.add_argument("--batches", default="1,32")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--out", default=None)
    p.add_argument("--model", default=MODEL)
    args = p.parse_args()
    set_threads(args.threads)
    torch, reason = load_torch(args.threads)
    if torch is None:
        why("torch", reason)
        return
    try:
        from transformers import BertModel, BertTokenizer
    except Exception as error:
        why("torch", "transformers not importable: %s" % error)
        return
    if not os.path.isdir(args.model):
        why("torch", "%s is missing: run scripts/install-deps --models" % args.model)
        return
    with open(os.path.join(args.data, "texts.json")) as f:
        texts = json.load(f)
    tokenizer = BertTokenizer(os.path.join(args.model, "vocab.txt"), do_lower_case=True)
    model = BertModel.from_pretrained(args.model).eval()
    lengths = [len(tokenizer(t, truncation=True, max_length=256)["input_ids"]) for t in texts]
    order = sorted(range(len(texts)), key=lambda i: lengths[i])

    def embed(batch):
        result = [None] * len(texts)
        with torch.no_grad():
            for start in range(0, len(order), batch):
                members = order[start:start + batch]
                encoded = tokenizer([texts[i] for i in members], padding=True, truncation=True, max_length=256,
                                    return_tensors="pt")
                hidden = model(**encoded).last_hidden_state
                mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                for row, vector in zip(members, torch.nn.functional.normalize(pooled, p=2, dim=1).tolist()):
                    result[row] = vector
        return result

    for batch in [int(b) for b in args.batches.split(",")]:
        embed(batch)  # warm-up
        seconds = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            vectors = embed(batch)
            seconds.append(time.perf_counter() - start)
        seconds.sort()
        emit("torch", "batch %d" % batch, (seconds[0], seconds[len(seconds) // 2]), torch.__version__, texts=len(texts))
        if args.out:
            with open(args.out, "w") as f:
                json.dump(vectors, f)
            args.out = None


if __name__ == "__main__":
    main()
