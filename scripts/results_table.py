#!/usr/bin/env python3
"""Markdown table of the MNIST runs under results/mnist/ (each a run folder copied from runs/):
every number is read from the files `fhn train` wrote (results.json, config.toml, metrics.jsonl).
Runs with the same configuration apart from the seed are also summarised as mean ± std."""
import json, re, statistics, tomllib
from collections import defaultdict
from pathlib import Path

root = Path(__file__).resolve().parent.parent / "results" / "mnist"
# serde defaults of `training` fields (src/train/config.rs) that older config.toml files lack.
TRAINING_DEFAULTS = {"tolerance": 0.0, "anderson_memory": 5, "probe_examples": 0, "estimator": "eqprop",
                     "free_start": "zero", "lr_schedule": "exponential", "weight_decay": 0.0,
                     "optimizer": "heavy-ball", "adam_betas": [0.9, 0.999], "adam_eps": 1e-8}
rows, groups = [], defaultdict(list)
for d in sorted(p for p in root.iterdir() if p.is_dir()):
    cfg = tomllib.loads((d / "config.toml").read_text())
    path = d / "metrics.jsonl"
    metrics = [json.loads(l) for l in path.read_text().splitlines() if l.strip()] if path.exists() else []
    if not metrics:
        continue  # started, no epoch finished yet
    res = json.loads((d / "results.json").read_text()) if (d / "results.json").exists() else None
    if res is None:  # an unfinished run: summarise what the metrics hold
        best = min(metrics, key=lambda m: m["val_error"])
        secs = sum(m["train_seconds"] for m in metrics)
        res = {"epochs": len(metrics), "best_epoch": best["epoch"], "best_val_error": best["val_error"],
               "test_error_at_best": best["test_error"], "final_test_error": metrics[-1]["test_error"],
               "train_seconds": secs, "examples_per_second": sum(m["examples_per_second"] * m["train_seconds"] for m in metrics) / secs,
               "threads": None}
    done = f"{res['epochs']}/{cfg['training']['epochs']}"
    # Where it ran: each start's line in the log names the threads or the device (`fhn train
    # --device`); a run resumed elsewhere lists each change in order.
    starts = re.findall(r"^run .*? examples, (.*?)(?:, starting after.*)?$", (d / "log.txt").read_text(), re.M)
    res["where"] = " → ".join(w for i, w in enumerate(starts) if i == 0 or w != starts[i - 1]) or "?"
    widths = "-".join(map(str, cfg["model"]["widths"]))
    rows.append((d.name, cfg["name"], cfg["model"]["kind"], widths, cfg["seed"], done, res))
    # Seeds of one configuration: folders named <group>-s<seed> whose configs differ only in
    # the seed (reruns such as quick-s1-v2 are listed above but not pooled).
    m = re.fullmatch(r"(.*)-s\d+", d.name)
    if m:
        # Fields added to the configuration later are absent from older runs' config.toml:
        # their defaults, so that such runs still pool with newer seeds.
        for k, v in TRAINING_DEFAULTS.items():
            cfg["training"].setdefault(k, v)
        cfg["data"].setdefault("shift", 0)
        same = json.dumps({k: v for k, v in cfg.items() if k != "seed"}, sort_keys=True)
        groups[(m[1], widths, done, same)].append(res["test_error_at_best"])

print("| run | preset | kind | architecture | seed | epochs | best epoch | val error | test error (best val epoch) | final test error | train time | examples/s | ran on |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for name, preset, kind, widths, seed, done, r in rows:
    print(f"| {name} | {preset} | {kind} | {widths} | {seed} | {done} | {r['best_epoch']} | {100*r['best_val_error']:.2f}% | "
          f"{100*r['test_error_at_best']:.2f}% | {100*r['final_test_error']:.2f}% | {r['train_seconds']/60:.1f} min | {r['examples_per_second']:.0f} | {r['where']} |")
print()
print("| runs | architecture | epochs | seeds | test error, mean ± std |")
print("|---|---|---|---|---|")
for (preset, widths, done, _), errs in groups.items():
    sd = f" ± {100*statistics.stdev(errs):.2f}%" if len(errs) > 1 else " (one seed)"
    print(f"| {preset} | {widths} | {done} | {len(errs)} | {100*statistics.mean(errs):.2f}%{sd} |")
