#!/usr/bin/env python3
"""Tables of the deep-network work (issue 11) from files the tool wrote: gradient quality
(`fhn probe`, results/probe/), equilibrium solvers on the trained deep network
(`fhn bench-solvers`, results/bench/solvers-deep-s1.json), and the one-epoch levers
(`scripts/deep_levers.sh`, results/ablations/deep-*/), and the deep preset's epoch time
(`scripts/deep_epoch_speed.sh`). `python3 scripts/deep_tables.py [SECTION]`."""
import json, re, sys, tomllib
from pathlib import Path

res = Path(__file__).resolve().parent.parent / "results"


def jsonl(path):
    """The records of a JSONL file the tool or a script wrote ([] when it does not exist)."""
    return [json.loads(l) for l in path.read_text().splitlines() if l.strip()] if path.exists() else []


def probe():
    out = ["| checkpoint | epoch | examples | cosine per weight layer (input → output) | relative error per layer |",
           "|---|---|---|---|---|"]
    for f in sorted((res / "probe").glob("*.json")):
        d = json.loads(f.read_text())
        q = d["quality"]
        out.append(f"| {d['checkpoint']} | {d['epoch']} | {q['examples']} | "
                   + ", ".join(f"{c:.3f}" for c in q["cosine"]) + " | "
                   + ", ".join(f"{r:.2f}" for r in q["relative_error"]) + " |")
    return "\n".join(out)


def solver_table(name, caption):
    d = json.loads((res / "bench" / name).read_text())
    rows = {}
    for r in d["rows"]:
        rows.setdefault((r["solver"], r["precision"]), {})[r["tol"]] = r
    batch = d["rows"][0]["batch"]
    out = [f"{caption} (`{d['checkpoint']}`, batch {batch}):", "",
           "| solver | precision | to 1e-4: iterations | seconds | to 1e-6: iterations | seconds |", "|---|---|---|---|---|---|"]
    for (solver, prec), by in rows.items():
        cells = []
        for tol in (1e-4, 1e-6):
            r = by[tol]
            if r["diverged"]:
                cells += ["diverged", "—"]
            else:
                cells += [str(r["steps"]) if r["reached"] else f">{r['steps']}", f"{r['seconds']:.2f}"]
        out.append(f"| {solver} | {prec} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def solvers():
    return solver_table("solvers-deep-s1.json", "The trained deep network") + "\n\n" + \
        solver_table("solvers-paper-s1-b8.json", "The paper preset's network at epoch 13")


def levers():
    """`scripts/deep_levers.sh`: each one-epoch run's config diffed against deep-base's (paper-*
    against paper-1epoch's)."""
    out = ["| run | differs from its base (deep-v1; the `paper` preset for paper-*) | examples/s (1 thread) | train error | val error | free residual |",
           "|---|---|---|---|---|---|"]
    bases = {}
    for d in sorted(list(res.glob("ablations/deep-*/")) + list(res.glob("ablations/paper*-1epoch/"))):
        if not (d / "metrics.jsonl").exists() or not list(d.glob("*.toml")):
            continue  # still running
        base_name = "paper-1epoch" if d.name.startswith("paper") else "deep-base"
        if base_name not in bases:
            bases[base_name] = flat(tomllib.loads(next((res / "ablations" / base_name).glob("*.toml")).read_text()))
        m = json.loads((d / "metrics.jsonl").read_text().splitlines()[-1])
        out.append(f"| {d.name} | {config_diff(next(d.glob('*.toml')), bases[base_name])} | {m['examples_per_second']:.0f} | "
                   f"{100 * m['train_error']:.2f} % | {100 * m['val_error']:.2f} % | {m['free_residual']:.1e} |")
    return "\n".join(out)


def flat(d, prefix=""):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flat(v, f"{prefix}{k}."))
        else:
            out[prefix + k] = v
    return out


def config_diff(path, base):
    """The fields of the run config at `path` that differ from the flattened `base` (a field
    only one of them has is a default added later: not a difference)."""
    cfg = flat(tomllib.loads(path.read_text()))
    return ", ".join(f"{k.split('.')[-1]} {cfg[k]}" for k in sorted(set(cfg) & set(base))
                     if k != "name" and cfg[k] != base[k]) or "—"


def cosines(q):
    """A gradient-quality record's cosines per layer ("—" where the exact gradient is zero)."""
    return ", ".join("—" if c is None else f"{c:.3f}" for c in q["cosine"])


def levers_vs_base(prefix, preset, quality=False):
    """Runs results/ablations/<prefix>-*/, each config diffed against <prefix>-base's: the
    validation error after the first and the last epoch, the test error and residual at the last
    (and with `quality`, the last epoch's gradient-quality probe)."""
    runs = sorted(res.glob(f"ablations/{prefix}-*/config.toml"))
    base_cfg = tomllib.loads((res / f"ablations/{prefix}-base/config.toml").read_text())
    n = base_cfg["training"]["epochs"]
    base = flat(base_cfg)
    probe = (f" EqProp estimate vs exact gradient after epoch {n}: cosine per weight layer, input → output "
             f"({base_cfg['training']['probe_examples']} training images) |") if quality else ""
    out = [f"| run | differs from {preset} ({n} epochs) | relaxation steps per update | examples/s (1 thread) "
           f"| val error, epoch 1 | epoch {n} | test error, epoch {n} | free residual, epoch {n} |" + probe,
           "|---|---|---|---|---|---|---|---|" + ("---|" if quality else "")]
    for c in runs:
        d = c.parent
        ms = jsonl(d / "metrics.jsonl")
        if len(ms) < n:
            continue  # still running
        eps = sum(m["examples_per_second"] * m["train_seconds"] for m in ms) / sum(m["train_seconds"] for m in ms)
        out.append(f"| {d.name} | {config_diff(c, base)} | {ms[-1]['relax_steps']:.0f} | {eps:.0f} | {100 * ms[0]['val_error']:.2f} % | "
                   f"{100 * ms[-1]['val_error']:.2f} % | {100 * ms[-1]['test_error']:.2f} % | {ms[-1]['free_residual']:.1e} |"
                   + (f" {cosines(ms[-1]['gradient_quality'])} |" if quality and ms[-1].get("gradient_quality") else " |" if quality else ""))
    return "\n".join(out)


def fast_levers():
    """`scripts/fast_levers.sh`: each run's config diffed against fast-base's."""
    return levers_vs_base("fast", "`best`")


def fast4_levers():
    """`SET=fast scripts/fast_levers.sh`: each run's config diffed against fast4-base's."""
    return levers_vs_base("fast4", "`fast`")


def hopfield_levers():
    """`scripts/hopfield_levers.sh`: each run's config diffed against hopfield-base's."""
    return levers_vs_base("hopfield", "configs/hopfield-1024-momentum.toml")


def hopfield_depth_probe():
    """`scripts/hopfield_depth_probe.sh`: each run's config diffed against hopfield2-base's."""
    return levers_vs_base("hopfield2", "hopfield2-base: 784-512-512-10, red-black 20 / 10, rates [0.02, 0.005, 0.00125]", quality=True)


def depth_sweep(name="depth-short"):
    """results/sweeps/<name>/ (`fhn sweep configs/sweeps/<name>.toml`): per variant the
    validation error per epoch, the test error at the best validation epoch, steps and residual."""
    sweep = json.loads((res / f"sweeps/{name}/sweep.json").read_text())
    rows = []
    for _, label, seed, folder, status in sweep["runs"]:
        d = Path(folder) if Path(folder).is_absolute() else res.parent / folder
        ms = jsonl(d / "metrics.jsonl")
        rows.append((label, seed, d, status, ms))
    n = max((len(ms) for *_, ms in rows), default=0)
    out = ["| variant | hidden layers | relaxation steps per update | " + " | ".join(f"val, epoch {e}" for e in range(1, n + 1))
           + " | test error at best val epoch | free residual, last epoch | train time, 1 thread |",
           "|---|---|---|" + "---|" * n + "---|---|---|"]
    for label, seed, d, status, ms in rows:
        cfg = tomllib.loads((d / "config.toml").read_text()) if (d / "config.toml").exists() else None
        depth = len(cfg["model"]["widths"]) - 2 if cfg else "?"
        vals = [f"{100 * m['val_error']:.2f}" for m in ms] + [""] * (n - len(ms))
        if status["status"] == "finished":
            best = status["summary"]
            test = f"{100 * best['test_error_at_best']:.2f} % (epoch {best['best_epoch']})"
        else:
            test = f"{status['status']} after {len(ms)} epochs"
        last = f"{ms[-1]['free_residual']:.1e}" if ms else ""
        secs = f"{sum(m['train_seconds'] for m in ms) / 60:.1f} min" if ms else ""
        steps = f"{ms[-1]['relax_steps']:.0f}" if ms else ""
        out.append(f"| {label} s{seed} | {depth} | {steps} | " + " | ".join(vals) + f" | {test} | {last} | {secs} |")
    return "\n".join(out)


def by_variant(rows):
    """Bench rows grouped by variant (first-seen order): (variant, rows, examples/s per round,
    the epoch time for 50 000 images at the mean speed, the first round's free residual, which
    of the goals ≤ 180 s and ≤ 1e-2 it meets)."""
    for v in dict.fromkeys(r["variant"] for r in rows):
        rs = [r for r in rows if r["variant"] == v]
        eps = [r["examples_per_second"] for r in rs]
        secs = 50000 * len(eps) / sum(eps)
        res_ = rs[0]["free_residual"]
        ok = "both" if secs <= 180 and res_ <= 1e-2 else "time" if secs <= 180 else "residual" if res_ <= 1e-2 else "neither"
        yield v, rs, eps, secs, res_, ok


def epoch_speed():
    """`scripts/deep_epoch_speed.sh`: the 2-thread speed per variant, epoch time at the mean speed."""
    rows = jsonl(res / "bench/deep_epoch_speed.jsonl")
    out = ["| variant | solver, free / nudge steps | examples/s (2 threads), per round | one 50 000-image epoch, training only (mean speed) "
           "| free residual (first 3 200 images) | goals on this bench: ≤ 180 s, ≤ 1e-2 |",
           "|---|---|---|---|---|---|"]
    for v, rs, eps, secs, res_, ok in by_variant(rows):
        out.append(f"| {v} | {rs[0]['steps']} | {', '.join(f'{e:.0f}' for e in eps)} | {secs:.0f} s | {res_:.1e} | {ok} |")
    return "\n".join(out)


def residual_speed():
    """`scripts/deep_residual_speed.sh`: the preset's variants at trained weights (a resumed last
    epoch on 3 200 images, 2 threads): speed per round, implied epoch time, residual, steps."""
    rows = jsonl(res / "bench/deep_residual_speed.jsonl")
    out = [f"At `{rows[0]['checkpoint']}` (epoch {rows[0]['epoch'] - 1}):", "",
           "| variant | solver, max free / nudge steps, tolerance | steps per update (all phases) | examples/s (2 threads), per round "
           "| one 50 000-image epoch, training only (mean speed) | free residual | goals: ≤ 180 s, ≤ 1e-2 |",
           "|---|---|---|---|---|---|---|"]
    for v, rs, eps, secs, res_, ok in by_variant(rows):
        out.append(f"| {v} | {rs[0]['steps']} | {rs[0]['relax_steps']:.1f} | {', '.join(f'{e:.0f}' for e in eps)} | {secs:.0f} s | {res_:.1e} | {ok} |")
    return "\n".join(out)


def preset_epochs(names=("deep-shift1", "deep-cosine-wd-40", "deep-shift1-free-tol5e-3",
                         "deep-shift1-free-tol5e-3-60", "deep-free-tol5e-3")):
    """Full epochs of the deep preset's runs (configs/<name>.toml: the preset's file, its second
    version, then both with the free-phase tolerance, the first over 60 epochs too): the threads
    of each process start (log.txt), training seconds per epoch and the free-phase residual,
    mean and worst over the epochs done (metrics.jsonl)."""
    out = ["| run | threads (per process start) | epochs | training s per epoch: mean, max | mean free residual: mean, max over epochs |",
           "|---|---|---|---|---|"]
    for d in [d for n in names for d in sorted(res.glob(f"mnist/{n}-s*/metrics.jsonl"))]:
        ms = jsonl(d)
        threads = re.findall(r"(\d+) thread\(s\)", (d.parent / "log.txt").read_text())
        secs, resid = [m["train_seconds"] for m in ms], [m["free_residual"] for m in ms]
        out.append(f"| {d.parent.name} | {', '.join(threads)} | {len(ms)} | {sum(secs) / len(secs):.0f} s, {max(secs):.0f} s | "
                   f"{sum(resid) / len(resid):.1e}, {max(resid):.1e} |")
    return "\n".join(out)


def eval_convergence():
    """`scripts/eval_convergence.sh`: test error with the run's evaluation steps and converged."""
    rows = jsonl(res / "checks/eval_convergence.jsonl")
    out = ["| checkpoint | epoch | solver | steps | free-phase residual (mean of batch maxima) | test error |",
           "|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['checkpoint']} | {r['epoch']} | {r['solver']} | {r['steps']} | {r['residual']:.1e} | {100 * r['error']:.2f} % |")
    return "\n".join(out)


DEEP_RUNS = ["deep-s1", "deep-s2", "deep-dt1-s1", "deep-halving-s1", "deep-halving-s2", "deep-cosine-s1", "deep-cosine-s2", "deep-cosine-s3", "deep-cosine-wd-s1", "deep-cosine-wd-s2", "deep-cosine-wd-s3", "deep-cosine-wd-mom-s1", "deep-cosine-adam-s1", "deep-cosine-wd-40-s1", "deep-cosine-wd-40-s2", "deep-cosine-wd-40-s3", "deep-wd3e-4-s1", "deep-leak1.5-s1", "deep-shift1-s1", "deep-shift1-s2", "deep-shift1-s3", "deep-tol5e-3-s1", "deep-free-tol5e-3-s1", "deep-shift1-free-tol5e-3-s1", "deep-shift1-free-tol5e-3-60-s1", "hopfield-deep-s1"]


def deep_runs():
    """Full-data deep runs side by side (results/mnist/<run>/metrics.jsonl): validation error
    (train error) per epoch for the first epochs, and the best validation epoch so far."""
    runs = [(r, jsonl(res / "mnist" / r / "metrics.jsonl"))
            for r in DEEP_RUNS if (res / "mnist" / r / "metrics.jsonl").exists()]
    shown = [1, 2, 3, 4, 5, 10, 15, 20, 25, 30, 40, 50, 60]
    out = ["| run | config | epochs run | " + " | ".join(f"epoch {e}" for e in shown) + " | best val (epoch, test) |",
           "|---|---|---|" + "---|" * len(shown) + "---|"]
    for r, ms in runs:
        cfg = tomllib.loads((res / "mnist" / r / "config.toml").read_text())
        cells = [f"{100 * ms[e - 1]['val_error']:.2f} ({100 * ms[e - 1]['train_error']:.2f})" if len(ms) >= e else "" for e in shown]
        b = min(ms, key=lambda m: m["val_error"])
        out.append(f"| {r} | {cfg['name']} | {len(ms)}/{cfg['training']['epochs']} | " + " | ".join(cells)
                   + f" | {100 * b['val_error']:.2f} % ({b['epoch']}, {100 * b['test_error']:.2f} %) |")
    return "\n".join(out)


def optimizer_residuals():
    """Free-phase (training) and evaluation residuals per epoch of the deep runs that differ in
    the optimiser only (results/mnist/<run>/metrics.jsonl): Adam leaves the convergent regime."""
    names = ["deep-cosine-wd-s1", "deep-cosine-wd-mom-s1", "deep-cosine-adam-s1"]
    runs = [(r, jsonl(res / "mnist" / r / "metrics.jsonl"))
            for r in names if (res / "mnist" / r / "metrics.jsonl").exists()]
    shown = range(1, 6)
    out = ["| run | optimiser | " + " | ".join(f"epoch {e}: free / eval residual (val error)" for e in shown) + " |",
           "|---|---|" + "---|" * len(shown)]
    for r, ms in runs:
        cfg = tomllib.loads((res / "mnist" / r / "config.toml").read_text())["training"]
        opt = cfg.get("optimizer", "heavy-ball")
        opt += f", momentum {cfg['momentum']}" if opt == "heavy-ball" else ""
        cells = [f"{ms[e - 1]['free_residual']:.1e} / {ms[e - 1]['eval_residual']:.1e} ({100 * ms[e - 1]['val_error']:.2f} %)"
                 if len(ms) >= e else "" for e in shown]
        out.append(f"| {r} | {opt} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def tolerance_steps(every=3):
    """Steps per update of the two tolerance runs, epoch by epoch (metrics.jsonl, one thread
    each): deep-free-tol5e-3-s1 runs its nudged phases at all steps, so its free phase took
    relax_steps − 2·nudge_steps; the same subtracted from deep-tol5e-3-s1's sum estimates the
    steps of each of its nudged phases (the two runs' weights differ, so it is an estimate)."""
    runs = {}
    for r in ["deep-tol5e-3-s1", "deep-free-tol5e-3-s1"]:
        runs[r] = jsonl(res / "mnist" / r / "metrics.jsonl")
    nudge = tomllib.loads((res / "mnist/deep-free-tol5e-3-s1/config.toml").read_text())["training"]["nudge_steps"]
    out = ["| epoch | deep-free-tol5e-3: free steps (val error) | deep-tol5e-3: all steps (val error) | deep-tol5e-3: steps per nudged phase, estimated |",
           "|---|---|---|---|"]
    both = min(len(v) for v in runs.values())
    for e in sorted({*range(1, both + 1, every), both}):
        f, t = runs["deep-free-tol5e-3-s1"][e - 1], runs["deep-tol5e-3-s1"][e - 1]
        free = f["relax_steps"] - 2 * nudge
        out.append(f"| {e} | {free:.1f} ({100 * f['val_error']:.2f} %) | {t['relax_steps']:.1f} ({100 * t['val_error']:.2f} %) | "
                   f"{(t['relax_steps'] - free) / 2:.1f} |")
    return "\n".join(out)


def deep_seeds():
    """Each finished seed of the 3-hidden-layer configurations run over several seeds
    (`seeds`), one table per configuration."""
    names = ["deep-cosine-wd", "deep-cosine-wd-40", "deep-cosine-wd-mom", "deep-shift1", "deep-shift1-free-tol5e-3", "hopfield-deep"]
    return "\n\n".join(f"`configs/{n}.toml`:\n\n" + seeds(n) for n in names
                        if any(res.glob(f"mnist/{n}-s*/results.json")))


def seeds(name):
    """Each finished seed of configuration `name` (results/mnist/<name>-s*/results.json): best
    validation epoch, its validation and test error, training time; mean ± std of the test error."""
    import statistics
    out = ["| run | best epoch | val error | test error (best val epoch) | train time (threads of the last process) |", "|---|---|---|---|---|"]
    errs = []
    for d in sorted(res.glob(f"mnist/{name}-s*/results.json")):
        r = json.loads(d.read_text())
        errs.append(r["test_error_at_best"])
        out.append(f"| {d.parent.name} | {r['best_epoch']} | {100 * r['best_val_error']:.2f} % | "
                   f"{100 * r['test_error_at_best']:.2f} % | {r['train_seconds'] / 60:.1f} min ({r.get('threads', '?')}) |")
    if len(errs) > 1:
        out.append(f"| mean ± std over {len(errs)} seeds | | | {100 * statistics.mean(errs):.2f} % ± {100 * statistics.stdev(errs):.2f} % | |")
    return "\n".join(out)


sections = {"probe": probe, "solvers": solvers, "levers": levers, "fast_levers": fast_levers, "fast4_levers": fast4_levers,
            "hopfield_levers": hopfield_levers, "hopfield_depth_probe": hopfield_depth_probe,
            "depth_sweep": depth_sweep, "depth_sweep_hopfield": lambda: depth_sweep("depth-short-hopfield"),
            "epoch_speed": epoch_speed, "residual_speed": residual_speed, "preset_epochs": preset_epochs,
            "eval_convergence": eval_convergence, "deep_runs": deep_runs,
            "optimizer_residuals": optimizer_residuals,
            "deep_seeds": deep_seeds, "tolerance_steps": tolerance_steps,
            "hopfield_seeds": lambda: seeds("hopfield-1024-redblack")}
for name in sys.argv[1:] or sections:
    print(sections[name]())
    print()
