#!/usr/bin/env python3
"""Turns a `tensorbench --json FILE` report into PNGs, and optionally rewrites README.md's
Numbers section from the same report (so the figures there are never typed by hand).

    Benchmarks/plot.py Benchmarks/results/tour.json --out Benchmarks/results --readme README.md

Pictures (each made only when the report has the records):
  matmul.png    GFLOP/s vs size, ours and each peer, per device
  train.png     training loss per step, exact vs few-bit (and the peer's exact run)
  finetune.png  fine-tuning loss per step, one line per memory mode and PyTorch's
                (finetune-quick.png for a --quick run)
  sparse.png    speedup over dense vs sparsity, one line per batch size
"""
import argparse, json, re, sys
from collections import defaultdict


def load(path):
    with open(path) as f:
        return json.load(f)


def rate(work, seconds):
    return work / seconds / 1e9 if seconds else float("nan")


def plot_matmul(report, plt, out):
    rows = [r for r in report["records"] if r["benchmark"] == "matmul"]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    for device in sorted({r["device"] for r in rows}):
        mine = sorted((r["shape"][0], r) for r in rows if r["device"] == device)
        ax.plot([n for n, _ in mine], [rate(r["work"], r["ours"]["min"]) for _, r in mine], "o-", label="TensorEngine " + device)
        for peer in ("numpy", "torch"):
            points = [(n, rate(r["work"], r["peers"][peer]["min"])) for n, r in mine
                      if peer in r.get("peers", {}) and r["peers"][peer].get("min")]
            if points:
                ax.plot(*zip(*points), "s--", label=peer)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("n (square n x n x n float32)")
    ax.set_ylabel("GFLOP/s (at min time)")
    ax.set_title("matmul")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = out + "/matmul.png"
    fig.savefig(path, dpi=110)
    return path


def plot_train(report, plt, out):
    rows = [r for r in report["records"] if r["benchmark"].startswith("train") and r.get("series")]
    if not rows:
        return None
    benchmarks = sorted({r["benchmark"] for r in rows})
    fig, axes = plt.subplots(1, len(benchmarks), figsize=(6 * len(benchmarks), 4), squeeze=False)
    for ax, bench in zip(axes[0], benchmarks):
        for r in (r for r in rows if r["benchmark"] == bench):
            ax.plot(range(1, len(r["series"]) + 1), r["series"], label=r["label"], linewidth=1)
        for r in (r for r in rows if r["benchmark"] == bench):
            for peer, figure in sorted(r.get("peers", {}).items()):
                if figure.get("series"):  # the peer's run of the same training, stored once
                    ax.plot(range(1, len(figure["series"]) + 1), figure["series"], "--", label=peer + " exact", linewidth=1)
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("training loss")
        ax.set_title(bench + " (" + rows[0]["device"] + ")")
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.tight_layout()
    path = out + "/train.png"
    fig.savefig(path, dpi=110)
    return path


def plot_finetune(report, plt, out):
    rows = [r for r in report["records"] if r["benchmark"].startswith("finetune") and r.get("series")]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5))

    def smooth(series, window=5):
        return [sum(series[max(0, i - window + 1):i + 1]) / len(series[max(0, i - window + 1):i + 1])
                for i in range(len(series))]

    for r in rows:
        accuracy = r.get("extra", {}).get("test_accuracy")
        label = r["label"] + ("" if accuracy is None else " (test %.1f%%)" % (100 * accuracy))
        ax.plot(range(1, len(r["series"]) + 1), smooth(r["series"]), label=label, linewidth=1.2)
        for peer, figure in sorted(r.get("peers", {}).items()):
            if figure.get("series"):  # the peer's run, stored once (on the exact row)
                peer_accuracy = (figure.get("extra") or {}).get("test_accuracy")
                peer_label = peer + " exact" + ("" if peer_accuracy is None else " (test %.1f%%)" % (100 * peer_accuracy))
                ax.plot(range(1, len(figure["series"]) + 1), smooth(figure["series"]), "--", label=peer_label, linewidth=1.2)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (mean of the last 5 steps)")
    ax.set_title("fine-tuning all-MiniLM-L6-v2 on fortune topics (" + rows[0]["device"] + ")")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = out + ("/finetune-quick.png" if "--quick" in report["command"].split() else "/finetune.png")
    fig.savefig(path, dpi=110)
    return path


def plot_sparse(report, plt, out):
    rows = [r for r in report["records"] if r["benchmark"] == "sparse"]
    if not rows:
        return None
    series = defaultdict(list)
    for r in rows:
        m = re.search(r"b(\d+) s(\d+) (\w+)", r["label"])
        if not m:
            continue
        batch, sparsity, mask = int(m.group(1)), int(m.group(2)), m.group(3)
        shape = "%dx%d" % (r["shape"][1], r["shape"][2])
        series[(shape, batch, mask)].append((sparsity, r["extra"].get("speedup_min", float("nan"))))
    fig, ax = plt.subplots(figsize=(6, 4))
    for (shape, batch, mask), points in sorted(series.items()):
        points.sort()
        ax.plot(*zip(*points), "o-", label="%s batch %d %s" % (shape, batch, mask))
    ax.axhline(1, color="gray", linewidth=0.8)
    ax.set_xlabel("sparsity of x (%)")
    ax.set_ylabel("speedup over dense (min times)")
    ax.set_yscale("log")
    ax.set_title("activation-sparse matmul (" + rows[0]["device"] + ")")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = out + "/sparse.png"
    fig.savefig(path, dpi=110)
    return path


def fmt(x, digits=1):
    return "-" if x is None or x != x else ("%." + str(digits) + "f") % x


def numbers_markdown(report, pictures, json_path):
    lines = ["Generated by `Benchmarks/plot.py` from `%s`, written by one run of `%s`" % (json_path, report["command"]),
             "on %s, %s. Devices: %s." % (report["host"], report["date"], "; ".join(report["devices"])), ""]
    peak = report.get("peak")
    if peak:
        lines += ["Machine peak (measured): %.0f GFLOP/s fp32 FMA, %.1f GB/s copy (%s)." % (peak["fmaGFLOPS"], peak["copyGBps"], peak["cpu"]), ""]
    by = defaultdict(list)
    for r in report["records"]:
        by[r["benchmark"]].append(r)
    for bench, rows in by.items():
        lines.append("**%s**" % bench)
        lines.append("")
        peers = sorted({p for r in rows for p in r.get("peers", {})})
        extras = sorted({k for r in rows for k in r.get("extra", {})})[:6]
        header = ["label", rows[0]["metric"] + " min", "median"] + ["%s ratio" % p for p in peers] + extras
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        for r in rows:
            best = rate(r["work"], r["ours"]["min"]) if r["work"] else float("nan")
            median = rate(r["work"], r["ours"]["median"]) if r["work"] else float("nan")
            cells = [r["label"], fmt(best, 2), fmt(median, 2)]
            for p in peers:
                fig = r.get("peers", {}).get(p, {})
                cells.append(fmt(fig["min"] / r["ours"]["min"], 2) + "x" if fig.get("min") else "n/a")
            for k in extras:
                v = r.get("extra", {}).get(k)
                cells.append("-" if v is None else ("%.4g" % v))
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    lines.append("Ratios are the peer's time over ours at the min (> 1: TensorEngine is faster).")
    for p in pictures:
        lines += ["", "![%s](%s)" % (p.split("/")[-1], p)]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("report")
    ap.add_argument("--out", default="Benchmarks/results")
    ap.add_argument("--readme", default=None, help="rewrite the section between the numbers markers of this README")
    args = ap.parse_args()
    report = load(args.report)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception as e:
        sys.exit("plot.py: matplotlib is not importable (%s); run scripts/install-deps --peers" % e)
    pictures = [p for p in (plot_matmul(report, plt, args.out), plot_train(report, plt, args.out),
                            plot_sparse(report, plt, args.out), plot_finetune(report, plt, args.out)) if p]
    for p in pictures:
        print("wrote", p)
    if args.readme:
        text = open(args.readme).read()
        begin, end = "<!-- numbers:begin -->", "<!-- numbers:end -->"
        if begin not in text or end not in text:
            sys.exit("plot.py: %s has no %s ... %s markers" % (args.readme, begin, end))
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = head + begin + "\n" + numbers_markdown(report, pictures, args.report) + "\n" + end + tail
        open(args.readme, "w").write(text)
        print("rewrote the Numbers section of", args.readme)


if __name__ == "__main__":
    main()
