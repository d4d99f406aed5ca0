#!/usr/bin/env python3
"""Token ids from transformers' BertTokenizer on all-MiniLM-L6-v2's vocab.txt, the reference
for the engine's WordPieceTokenizer.

    .venv/bin/python3 Benchmarks/peers/tokenizer_reference.py            # the committed table
    .venv/bin/python3 Benchmarks/peers/tokenizer_reference.py --all      # every fortunes text
    .venv/bin/python3 Benchmarks/peers/tokenizer_reference.py --characters  # every code point

The first writes Tests/TensorEngineTests/Resources/tokenizer_reference.json: 50 fortunes
texts (the 50 smallest SHA-256s of all texts) and hand-picked hard cases (accents, CJK,
emoji, control characters, punctuation runs, long words, special tokens, truncation, the
empty string). `--all` writes every text of /usr/share/games/fortunes (entries separated
by lines holding "%") to .cache/tokenizer/fortunes_reference.json, for
`tensorbench tokenizer .cache/tokenizer/fortunes_reference.json`. `--characters` writes
"a" + c + "b" for every Unicode scalar value c (1,112,064 texts, 60 MB, two minutes) to
.cache/tokenizer/characters_reference.json: every character class the tokenizer uses
(control, whitespace, punctuation, CJK, accents, lower case) checked once.
Both files: {"transformers", "tokenizers", "max_length", "cases": [{"text", "ids"}]}; ids
are [CLS] ... [SEP], truncated to max_length (256, all-MiniLM-L6-v2's max_seq_length).

Needs `scripts/install-deps --peers --models` (transformers, and the model's vocab.txt).
It checks on the way that the tokenizer loaded from the model directory (tokenizer.json)
agrees, and reports where transformers' legacy Python tokenizer (BertTokenizerLegacy)
differs from BertTokenizer.
"""
import argparse
import hashlib
import json
import os
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../.."))
MODEL = os.path.join(ROOT, ".cache/models/all-MiniLM-L6-v2")
FORTUNES = "/usr/share/games/fortunes"
MAX_LENGTH = 256

HARD_CASES = [
    "",
    "   ",
    "\t\n\r \n",
    "Hello, world!",
    "Café déjà vu — naïve façade, Ångström, Øresund, Łódź, São Paulo, İstanbul, Straße, résumé.",
    "ΟΔΟΣ ΣΑΣ και ΣΊΣΥΦΟΣ; Привет, МИР! Ελληνικά.",
    "我爱北京天安门。日本語のテキスト、한국어 텍스트입니다.",
    "CJK extension B 𠀀𠀁 and compatibility 豈 更, and U+2B820 a\U0002B820b vs U+2B920 a\U0002B920b",
    "I ❤️ NY 🍕🍕 👨‍👩‍👧 🥰 🇩🇪 ☺ ✓",
    "a\x00b\x01c\x7fd\x1be\u200bf\ufeffg\u00adh\ufffdi\x08j",
    "a\u00a0b\u2003c\u3000d\u2028e\x85f\x0bg\x0ch\u180ei\u2029j",
    "Wait...!?!—what?? (yes) [no] {maybe} <html> a+b=c $5.00 #hashtag @user ~tilde `tick` ^caret |pipe\\ 'quote' \"dq\"",
    "“curly” ‘single’ « guillemets » ¿Qué? ¡Sí! … – — ‐ ‒ ― •·‧ ※ ‰ ′″",
    "a" * 100,
    "a" * 101,
    "é" * 101,
    "supercalifragilisticexpialidocious" * 3 + " pneumonoultramicroscopicsilicovolcanoconiosis antidisestablishmentarianism",
    "3.14159 1,000,000 2nd 42nd 1990s 10:30pm 50% 0x1F 1e-9",
    "hello [MASK] world [SEP] x[CLS]y [cls] [UNK] [PAD] [[SEP]] [SEP [ MASK ]",
    "New punctuation a\u2e43b (Unicode 9), a\U0001da87b (Unicode 8); new mark e\U0001e944; new format a\u0890b",
    "ＡＢＣ！ｘｙｚ？ ﬁne ﬂow \u212a Ⅻ ½ ¼ © ® ™ ° µ ¶ § × ÷",
    "e\u0301\u0301 a\u0308\u0304 o\u0302\u0323 ǅemal ǈ ᾈ İ ß ẞ ŉ",
    "مرحبا بالعالم! שָׁלוֹם עוֹלָם नमस्ते दुनिया। สวัสดีครับ ကမ္ဘာ",
    "∑x² ≤ ∞ ± √2 ≠ π → ⇒ ∀∃ ∂f/∂x",
    "_\bH_\be_\bl_\bl_\bo  B\bBo\bol\bld\bd",
    "U.S.A. e.g. i.e. don't won't it's O'Reilly rock'n'roll state-of-the-art",
    "https://www.example.com/path/to?query=1&x=y#frag user.name+tag@example.org",
    "Tabs\tin\tthe\tmiddle\nand\nnewlines\r\nand CRLF",
    " ".join(["word"] * 300),
    " ".join(["tokenization"] * 127),  # 254 pieces: exactly fits
    " ".join(["tokenization"] * 128),  # 256 pieces: truncated
    "unaffable unbelievable xyzzyqwerty",
    "বাংলা ভাষা কোথায় ক্ষমা; தமிழ் கொ; 𝐁𝐨𝐥𝐝 𝔉𝔯𝔞𝔨𝔱𝔲𝔯 ⓐⓑ",
    # the characters whose category changed after Unicode 8.0 (tokenizers' table)
    "a\u166db a\u1734b a\u1885b a\u1886b a\ua9bdb a\U000111c9b a\U0001171eb",
]


def fortunes():
    """Every entry of every topic file, in topic then file order."""
    texts = []
    for name in sorted(os.listdir(FORTUNES)):
        path = os.path.join(FORTUNES, name)
        if "." in name or os.path.islink(path) or not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8", newline="") as f:
            entry = []
            for line in f.read().split("\n") + ["%"]:
                if line == "%":
                    if any(l.strip() for l in entry):
                        texts.append("\n".join(entry).rstrip("\n"))
                    entry = []
                else:
                    entry.append(line)
    return texts


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--all", action="store_true", help="every fortunes text, into .cache/tokenizer/")
    p.add_argument("--characters", action="store_true", help='"a" + c + "b" for every code point c, into .cache/tokenizer/')
    p.add_argument("--out", default=None, help="output path")
    args = p.parse_args()

    import tokenizers
    import transformers
    from transformers import BertTokenizer
    from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

    vocab = os.path.join(MODEL, "vocab.txt")
    if not os.path.exists(vocab):
        sys.exit(f"{vocab} is missing: run scripts/install-deps --models")
    tokenizer = BertTokenizer(vocab)
    from_directory = BertTokenizer.from_pretrained(MODEL)
    legacy = BertTokenizerLegacy(vocab)

    if args.characters:
        texts = ["a" + chr(c) + "b" for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
        ids = tokenizer(texts, truncation=True, max_length=MAX_LENGTH)["input_ids"]
        out = args.out or os.path.join(ROOT, ".cache/tokenizer/characters_reference.json")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "w") as f:
            json.dump({"transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
                       "max_length": MAX_LENGTH, "cases": [{"text": t, "ids": i} for t, i in zip(texts, ids)]}, f)
        print(f"wrote {len(texts)} texts to {out}")
        return

    if not os.path.isdir(FORTUNES):
        sys.exit(f"{FORTUNES} is missing: run scripts/install-deps (Debian's fortunes package)")
    texts = fortunes()
    if args.all:
        chosen = texts
        out = args.out or os.path.join(ROOT, ".cache/tokenizer/fortunes_reference.json")
    else:
        chosen = sorted(set(texts), key=lambda t: hashlib.sha256(t.encode()).hexdigest())[:50] + HARD_CASES
        out = args.out or os.path.join(ROOT, "Tests/TensorEngineTests/Resources/tokenizer_reference.json")

    encode = dict(truncation=True, max_length=MAX_LENGTH)
    cases, directory_differs, legacy_differs = [], 0, 0
    for text in chosen:
        ids = tokenizer(text, **encode)["input_ids"]
        directory_differs += from_directory(text, **encode)["input_ids"] != ids
        legacy_differs += legacy(text, **encode)["input_ids"] != ids
        cases.append({"text": text, "ids": ids})
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump({"transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
                   "max_length": MAX_LENGTH, "cases": cases}, f, ensure_ascii=True, indent=None if args.all else 0)
        f.write("\n")
    print(f"wrote {len(cases)} texts ({sum(len(c['ids']) for c in cases)} ids) to {out}; "
          f"tokenizer.json tokenizer differs on {directory_differs}, legacy Python tokenizer on {legacy_differs}")


if __name__ == "__main__":
    main()
