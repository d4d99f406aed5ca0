#!/usr/bin/env python3
"""Sentence embeddings of all-MiniLM-L6-v2 from transformers' BertModel: the reference for
the engine's SentenceEmbedder (sentence-transformers' recipe: BertTokenizer, BertModel in
float32, mean pooling over the attention mask, L2 normalisation).

    .venv/bin/python3 Benchmarks/peers/sentence_reference.py              # the committed table
    .venv/bin/python3 Benchmarks/peers/sentence_reference.py --count 1000 # 1,000 fortunes texts

The first writes Tests/TensorEngineTests/Resources/sentence_reference.json: 20 fortunes
texts (the 20 smallest SHA-256s of all texts) and 4 hand-picked ones (empty, accents and
CJK, a text longer than the 256-token limit, punctuation). `--count N` writes the N texts
with the smallest SHA-256s to .cache/embeddings/fortunes_reference.json, for
`tensorbench embed`. Both: {"transformers", "torch", "cases": [{"text", "embedding"}]},
embeddings as 384 floats (float32 values printed exactly).

Needs `scripts/install-deps --peers --models`.
"""
import argparse
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from tokenizer_reference import FORTUNES, MAX_LENGTH, MODEL, ROOT, fortunes  # noqa: E402

EXTRA = [
    "",
    "Café déjà vu — naïve façade; 我爱北京天安门。",
    " ".join(["antidisestablishmentarianism"] * 120),
    "Wait...!?!—what?? (yes) [no] {maybe} <html> a+b=c $5.00",
]


def embeddings(texts, batch=32):
    import torch
    from transformers import BertModel, BertTokenizer

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    tokenizer = BertTokenizer(os.path.join(MODEL, "vocab.txt"), do_lower_case=True)
    model = BertModel.from_pretrained(MODEL, attn_implementation="eager").eval()
    result = []
    with torch.no_grad():
        for start in range(0, len(texts), batch):
            chunk = texts[start:start + batch]
            encoded = tokenizer(chunk, padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="pt")
            hidden = model(**encoded).last_hidden_state
            mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            result += torch.nn.functional.normalize(pooled, p=2, dim=1).tolist()
    return result


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, default=None, help="this many fortunes texts, into .cache/embeddings/")
    p.add_argument("--out", default=None, help="output path")
    args = p.parse_args()
    if not os.path.isdir(FORTUNES):
        sys.exit(f"{FORTUNES} is missing: run scripts/install-deps (Debian's fortunes package)")
    if not os.path.isdir(MODEL):
        sys.exit(f"{MODEL} is missing: run scripts/install-deps --models")
    ordered = sorted(set(fortunes()), key=lambda t: hashlib.sha256(t.encode()).hexdigest())
    if args.count:
        chosen = ordered[:args.count]
        out = args.out or os.path.join(ROOT, ".cache/embeddings/fortunes_reference.json")
    else:
        chosen = ordered[:20] + EXTRA
        out = args.out or os.path.join(ROOT, "Tests/TensorEngineTests/Resources/sentence_reference.json")
    vectors = embeddings(chosen)
    import torch
    import transformers
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump({"transformers": transformers.__version__, "torch": torch.__version__,
                   "cases": [{"text": t, "embedding": v} for t, v in zip(chosen, vectors)]}, f, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {len(chosen)} embeddings to {out}")


if __name__ == "__main__":
    main()
