#!/usr/bin/env python3
"""Time to accuracy (issue 11): for each run folder under results/time-to-accuracy/, the
training wall time (the sum of metrics.jsonl's `train_seconds`, evaluation excluded) until the
validation error first reaches each threshold, with the epoch and that epoch's test error.
Every number is read from files `fhn train` wrote (config.toml, log.txt, metrics.jsonl)."""
import json, re, sys, tomllib
from pathlib import Path

root = Path(__file__).resolve().parent.parent / "results" / "time-to-accuracy"
thresholds = [0.026, 0.020]
print("| run | kind, architecture | solver, free / nudge steps | free start | ran on | s/epoch | "
      + " | ".join(f"to val ≤ {100*t:.1f} %: s (epoch, test)" for t in thresholds)
      + " | best val (epoch, test) |")
print("|---|---|---|---|---|---|" + "---|" * len(thresholds) + "---|")
dirs = sorted(p for p in root.iterdir() if (p / "metrics.jsonl").exists()) if root.exists() else []
if not dirs:
    sys.exit("no runs under results/time-to-accuracy/")
for d in dirs:
    cfg = tomllib.loads((d / "config.toml").read_text())
    t = cfg["training"]
    metrics = [json.loads(l) for l in (d / "metrics.jsonl").read_text().splitlines() if l.strip()]
    first = (d / "log.txt").read_text().splitlines()[0]
    m = re.search(r"examples, (.*?)(?:, starting after|$)", first)
    cells, elapsed = {}, 0.0
    for e in metrics:
        elapsed += e["train_seconds"]
        for th in thresholds:
            if th not in cells and e["val_error"] <= th:
                cells[th] = f"{elapsed:.0f} ({e['epoch']}, {100*e['test_error']:.2f} %)"
    best = min(metrics, key=lambda e: e["val_error"])
    per_epoch = elapsed / len(metrics)
    reached = [cells.get(th, f"not in {len(metrics)} epochs ({elapsed:.0f} s)") for th in thresholds]
    print(f"| {d.name} | {cfg['model']['kind']} {'-'.join(map(str, cfg['model']['widths']))} | {t['solver']}, "
          f"{t['free_steps']} / {t['nudge_steps']} | {t.get('free_start', 'zero')} | "
          f"{m[1] if m else '?'} | {per_epoch:.1f} | " + " | ".join(reached)
          + f" | {100*best['val_error']:.2f} % ({best['epoch']}, {100*best['test_error']:.2f} %) |")
