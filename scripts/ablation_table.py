#!/usr/bin/env python3
"""Markdown table of ablation runs: for every run folder under results/ablations, the settings
that differ from the reference run and the last epoch's validation/test error, read from the
files `fhn train` wrote (config.toml, metrics.jsonl). Usage: scripts/ablation_table.py [REF]"""
import json, sys, tomllib
from pathlib import Path

root = Path(__file__).resolve().parent.parent / "results" / "ablations"
ref_name = sys.argv[1] if len(sys.argv) > 1 else "b"

def flat(d, prefix=""):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flat(v, prefix + k + "."))
        else:
            out[prefix + k] = v
    return out

runs = {}
for d in sorted(root.iterdir()):
    cfg = flat(tomllib.loads((d / "config.toml").read_text()))
    lines = [json.loads(l) for l in (d / "metrics.jsonl").read_text().splitlines() if l.strip()]
    stopped = [l for l in (d / "log.txt").read_text().splitlines() if l.startswith("stopped")]
    runs[d.name] = (cfg, lines, stopped)

ref = runs[ref_name][0]
print("| run | differs from run %s | epochs | train ex. | val error | test error | free residual |" % ref_name)
print("|---|---|---|---|---|---|---|")
for name, (cfg, lines, stopped) in runs.items():
    diff = ", ".join(f"{k} = {cfg[k]}" for k in sorted(cfg) if k != "name" and cfg.get(k) != ref.get(k)) or "—"
    if lines:
        m = lines[-1]
        n = cfg.get("data.train_limit") or 50000
        print(f"| {name} | {diff} | {m['epoch']} | {n} | {100*m['val_error']:.2f}% | {100*m['test_error']:.2f}% | {m['free_residual']:.1e} |")
    else:
        print(f"| {name} | {diff} | 0 | | diverged | | {stopped[0][:80] if stopped else ''} |")
