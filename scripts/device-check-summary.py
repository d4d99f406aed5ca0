#!/usr/bin/env python3
"""Gathers what scripts/device-check's stages left in its work folder (stages.tsv, each
stage's log and tensorbench JSON report, the PyTorch peer's JSON lines) into one JSON file,
with the comparisons against PyTorch, and prints one summary line per stage. Exit status 1
when any stage failed or timed out (the JSON is written all the same).

    python3 scripts/device-check-summary.py --work DIR --mode run --elapsed 312 --out FILE
"""
import argparse
import json
import os
import platform
import statistics


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f), None
    except FileNotFoundError:
        return None, "no report"
    except ValueError as error:
        return None, "unreadable report: %s" % error


def tail(path, chars=4000):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-chars:]
    except FileNotFoundError:
        return ""


def torch_figures(path):
    """{(peer, label): figure} from the peer's JSON lines (other lines are warnings)."""
    figures = {}
    try:
        lines = open(path, errors="replace").read().splitlines()
    except FileNotFoundError:
        return figures
    for line in lines:
        if not line.startswith("{"):
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        figures[(record.get("peer"), record.get("label", "*"))] = record
    return figures


def gflops(work, seconds):
    return work / seconds / 1e9 if seconds else None


def compare(report, torch, peers):
    """Per record: our GFLOP/s at the min, each peer's, and peer time / our time (> 1: we are faster)."""
    rows = []
    for record in (report or {}).get("records", []):
        label = record["label"]
        ours = record["ours"]["min"]
        row = {"label": label, "ours_min_s": ours, "ours_median_s": record["ours"]["median"],
               "ours_gflops": gflops(record["work"], ours)}
        for peer in peers:
            figure = torch.get((peer, label)) or torch.get((peer, "*"))
            if figure and figure.get("min"):
                row[peer + "_min_s"] = figure["min"]
                row[peer + "_gflops"] = gflops(record["work"], figure["min"])
                row["ratio_vs_" + peer] = figure["min"] / ours
            else:
                row["ratio_vs_" + peer] = None
                row[peer + "_why"] = (figure or {}).get("why", "no figure")
        rows.append(row)
    return rows


def fmt(x, digits=2):
    return "n/a" if x is None else ("%.*f" % (digits, x))


def times(x):
    """A ratio as '1.23x', or 'n/a'."""
    return "n/a" if x is None else "%.2fx" % x


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--work", required=True)
    p.add_argument("--mode", required=True)
    p.add_argument("--elapsed", type=float, required=True)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    torch = torch_figures(os.path.join(args.work, "torch.log"))
    result = {"mode": args.mode, "elapsed_s": args.elapsed, "host": platform.node(), "machine": platform.machine(),
              "stages": [], "comparisons": {}}
    lines = []
    any_failed = False
    for entry in open(os.path.join(args.work, "stages.tsv")).read().splitlines():
        name, status, rc, seconds, limit, command = entry.split("\t", 5)
        stage = {"name": name, "status": status, "exit": int(rc), "seconds": float(seconds), "limit_s": int(limit),
                 "command": command, "log_tail": tail(os.path.join(args.work, name + ".log"))}
        report, why = read_json(os.path.join(args.work, name + ".json"))
        if report is not None:
            stage["report"] = report
        elif name not in ("devices", "torch"):
            stage["report_missing"] = why
        detail = ""
        if name == "devices":
            rows = [" ".join(l.split()) for l in stage["log_tail"].splitlines()
                    if l.startswith("vulkan") or l.startswith("unavailable")]
            detail = "; ".join(r[:120] for r in rows[:3]) or "no Vulkan device listed"
        elif name == "conformance" and report:
            detail = report.get("notes", {}).get("conformance", "")
            validation = [l for l in stage["log_tail"].splitlines() if l.startswith("validation layer")]
            detail += ("; " + validation[-1]) if validation else ""
        elif name == "matmul-float32":
            rows = compare(report, torch, ["torch-fp32", "torch-tf32"])
            result["comparisons"][name] = rows
            detail = ", ".join("%s: %s GFLOP/s, %s torch fp32, %s tf32" % (
                r["label"], fmt(r["ours_gflops"], 0), times(r["ratio_vs_torch-fp32"]), times(r["ratio_vs_torch-tf32"]))
                for r in rows)
        elif name == "matmul-float16":
            rows = compare(report, torch, ["torch-fp16"])
            result["comparisons"][name] = rows
            path = (report or {}).get("notes", {}).get("path", "")
            detail = ", ".join("%s: %s GFLOP/s, %s torch fp16" % (
                r["label"], fmt(r["ours_gflops"], 0), times(r["ratio_vs_torch-fp16"])) for r in rows)
            detail += (" [%s]" % path) if path else ""
        elif name == "torch":
            figures = [f for f in torch.values() if f.get("min")]
            stage["figures"] = list(torch.values())
            if figures:
                detail = "%d figures on %s (torch %s)" % (len(figures), figures[0].get("device", "?"),
                                                          figures[0].get("version"))
            else:   # ran, but measured nothing: torch missing or failing
                status = stage["status"] = "failed"
                reasons = sorted({f.get("why", "") for f in torch.values()}) or ["no output"]
                detail = "no figures: " + "; ".join(reasons)[:200]
        elif name == "linear-gelu":
            rows = [r for r in compare(report, torch, ["torch-linear-gelu"]) if r["label"].startswith("gelu")]
            result["comparisons"][name] = rows
            detail = ", ".join("%s: %s GFLOP/s, %s torch" % (r["label"], fmt(r["ours_gflops"], 0),
                                                             times(r["ratio_vs_torch-linear-gelu"])) for r in rows)
        elif name == "sparse" and report:
            rows = [{"label": r["label"], "sparse_min_s": r["ours"]["min"], "dense_min_s": r["extra"].get("dense_min_s"),
                     "speedup_vs_dense_min": r["extra"].get("speedup_min"),
                     "kernel_speedup_vs_dense_min": r["extra"].get("kernel_speedup_min")} for r in report["records"]]
            result["comparisons"][name] = rows
            detail = ", ".join("%s: %s dense" % (r["label"], times(r["speedup_vs_dense_min"])) for r in rows)
        elif name == "fewbit" and report:
            records = report["records"]
            exact = next((r for r in records if r["label"] == "exact"), None)
            rows = [{"label": r["label"], "step_min_s": r["ours"]["min"], "step_median_s": r["ours"]["median"],
                     "vs_exact_min": r["ours"]["min"] / exact["ours"]["min"] if exact else None} for r in records]
            result["comparisons"][name] = rows
            detail = ", ".join("%s %s" % (r["label"], times(r["vs_exact_min"])) for r in rows)
        any_failed |= status != "ok"
        result["stages"].append(stage)
        lines.append("%-15s %-8s %6.1f s  %s" % (name, status, float(seconds), detail))
    # The targets (GPU only: on lavapipe against CPU torch they mean nothing).
    targets = {}
    for key, peer, goal in (("matmul-float32", "torch-fp32", 0.7), ("matmul-float16", "torch-fp16", 0.5)):
        row = next((r for r in result["comparisons"].get(key, []) if r["label"].split()[0] == "4096"), None)
        if row is not None:
            ratio = row.get("ratio_vs_" + peer)
            targets[key + " 4096 vs " + peer] = {"goal": goal, "ratio": ratio,
                                                 "met": None if ratio is None else ratio >= goal}
    result["targets"] = targets
    result["failed_stages"] = [s["name"] for s in result["stages"] if s["status"] != "ok"]
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
    print("device-check summary (%s, %.0f s; ratios: peer time / ours, > 1 means we are faster)" % (args.mode, args.elapsed))
    for line in lines:
        print(line)
    for key, target in targets.items():
        print("target %s: %s (goal %s)" % (key, fmt(target["ratio"]), target["goal"]))
    print("wrote %s" % args.out)
    return 1 if any_failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
