#!/usr/bin/env python3
"""Markdown tables of the GPU run (bench/gpu/run.sh) from the files it wrote under
results/bench/gpu-h200/: CPU-vs-GPU agreement, examples/s of ours and of the PyTorch reference,
the cuBLAS SGEMM peak, one epoch of quick and paper. `python3 scripts/gpu_table.py [SECTION]`
prints one section (agreement, speed, epochs) or all."""
import json, re, statistics, sys
from pathlib import Path

d = Path(__file__).resolve().parent.parent / "results" / "bench" / "gpu-h200"


def lines(name):
    return [json.loads(l) for l in (d / name).read_text().splitlines() if l.strip()]


def gpu():
    smi = (d / "nvidia-smi.txt").read_text()
    m = re.search(r"\|\s+\d+\s+(NVIDIA [^|]*?)\s{2,}", smi)
    return m[1].strip() if m else "GPU"


def agreement():
    out = ["| preset | steps | ‖W_gpu − W_cpu‖/‖W_cpu‖ | max elementwise / max |W| | update rel. error | same, CPU from weights moved 1 ulp | pass (≤ 1e-5) |",
           "|---|---|---|---|---|---|---|"]
    for c in lines("check.jsonl"):
        out.append(f"| {c['preset']} | {c['steps']} | {c['weights_rel']:.1e} | {c['weights_max_rel']:.1e} | {c['update_rel']:.1e} | "
                   f"{c['cpu_one_ulp']['update_rel']:.1e} | {'yes' if c['pass_1e-5'] else 'no'} |")
    return "\n".join(out)


def speed():
    peak = {p["tf32"]: p["gemm_gflops"] for p in lines("peak.jsonl")}
    rows = lines("speed.jsonl")
    ours = {r["batch"]: r for r in rows if r["impl"] == "rust"}
    torch = {r["batch"]: r for r in rows if r["impl"] == "pytorch"}
    out = [f"{gpu()}; cuBLAS SGEMM 8192³: {peak[False] / 1e3:.1f} TFLOP/s in f32, {peak[True] / 1e3:.0f} TFLOP/s with TF32 "
           f"(our runs use f32, TF32 off; the PyTorch reference had TF32 off too). Paper-preset training step, "
           f"median of 5 samples of 20 batches each:", "",
           "| batch | ours (examples/s) | PyTorch eager (examples/s) | ours / PyTorch | ours, TFLOP/s | fraction of f32 SGEMM peak |",
           "|---|---|---|---|---|---|"]
    for b in sorted(ours):
        o = statistics.median(ours[b]["examples_per_second"])
        t = statistics.median(torch[b]["examples_per_second"]) if b in torch else float("nan")
        tf = o * ours[b]["flops_per_example"] / 1e12
        out.append(f"| {b} | {o:,.0f} | {t:,.0f} | {o / t:.1f}× | {tf:.1f} | {100 * tf * 1e3 / peak[False]:.0f} % |")
    return "\n".join(out)


def cpu_epoch_one(preset):
    """Validation errors after epoch 1 of the CPU runs results/mnist/<preset>-s<seed>."""
    runs = d.parent.parent / "mnist"
    out = []
    for r in sorted(runs.glob(f"{preset}-s*")):
        if re.fullmatch(rf"{preset}-s\d+", r.name):
            first = json.loads((r / "metrics.jsonl").read_text().splitlines()[0])
            out.append(f"{100 * first['val_error']:.2f} %")
    return ", ".join(out) or "—"


def epochs():
    out = ["| preset | architecture | train time, one epoch | examples/s | val error after it | CPU trainer after epoch 1 (seeds 1, 2, …) | free-phase residual |",
           "|---|---|---|---|---|---|---|"]
    widths = {"quick": "784-500-10", "paper": "784-512×4-10"}
    for e in lines("epochs.jsonl"):
        out.append(f"| {e['preset']} | {widths.get(e['preset'], '')} | {e['train_seconds']:.1f} s | {e['examples_per_second']:,.0f} | "
                   f"{100 * e['val_error']:.2f} % | {cpu_epoch_one(e['preset'])} | {e['free_residual']:.1e} |")
    return "\n".join(out)


sections = {"agreement": agreement, "speed": speed, "epochs": epochs}
for name in sys.argv[1:] or sections:
    print(sections[name]())
    print()
