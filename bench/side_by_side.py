#!/usr/bin/env python3
"""Side-by-side benchmark: the Rust EqProp training step (`fhn bench-step`) against the PyTorch
reference (bench/reference/fhn_torch.py), same preset, same data, same thread count.

Runs are interleaved (Rust, PyTorch, Rust, PyTorch, ...), each a fresh process with its own
warm-up that reports `reps` timings; a round's figure is the median of its timings. Prints, per
(threads, batch): median examples/s of each with the min–max over rounds, the median of the
per-round ratios Rust / PyTorch, and the Rust step's fraction of the measured faer GEMM peak.
Writes the table and the raw JSON to --out (default results/bench/side_by_side.{txt,json}).

Setup once: bench/reference/setup.sh     Run: python3 bench/side_by_side.py
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]


def run_json(cmd, env=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=REPO, env=env)
    return json.loads(out.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--preset", default="paper")
    ap.add_argument("--batches", default="1,32,128")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--python", default=os.environ.get(
        "FHN_TORCH_PYTHON", str(REPO / "bench/reference/.venv/bin/python")))
    ap.add_argument("--out", default=str(REPO / "results/bench/side_by_side"))
    a = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet"], check=True, cwd=REPO)
    fhn = str(REPO / "target/release/fhn")
    cfg = pathlib.Path(a.out + ".config.toml")
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(subprocess.run([fhn, "train", "--preset", a.preset, "--print-config"],
                                  check=True, capture_output=True, text=True).stdout)
    torch_env = dict(os.environ, OMP_NUM_THREADS="1")  # torch.set_num_threads does the rest
    rows, raw = [], []
    for threads in map(int, a.threads.split(",")):
        torch_env["OMP_NUM_THREADS"] = str(threads)
        peak = run_json([fhn, "bench-step", "--gemm-peak", "--threads", str(threads)])["gemm_gflops"]
        for batch in map(int, a.batches.split(",")):
            per = max(2, 64 // batch)  # minibatches per timing: ~64 examples or 2 batches
            common = ["--batch", str(batch), "--threads", str(threads), "--batches", str(per),
                      "--reps", "3", "--warmup", str(max(1, 4 // batch))]
            rust, torch, flops = [], [], None
            for _ in range(a.rounds):
                r = run_json([fhn, "bench-step", "--config", str(cfg)] + common)
                t = run_json([a.python, "bench/reference/fhn_torch.py", "bench",
                              "--config", str(cfg)] + common, env=torch_env)
                rust.append(statistics.median(r["examples_per_second"]))
                torch.append(statistics.median(t["examples_per_second"]))
                flops = r["flops_per_example"]
                raw.append({"threads": threads, "batch": batch, "rust": r, "pytorch": t})
            ratios = [x / y for x, y in zip(rust, torch)]
            gflops = statistics.median(rust) * flops / 1e9
            rows.append((threads, batch, rust, torch, ratios, 100 * gflops / peak, peak))
            print_row(rows[-1], flush=True)
    text = table(rows, a)
    pathlib.Path(a.out + ".txt").write_text(text)
    pathlib.Path(a.out + ".json").write_text(json.dumps(raw, indent=1))
    print("\n" + text)


def fmt(xs):
    return f"{statistics.median(xs):8.1f} [{min(xs):.1f}–{max(xs):.1f}]"


def print_row(row, flush=False):
    print(line(row), flush=flush, file=sys.stderr)


def line(row):
    threads, batch, rust, torch, ratios, frac, peak = row
    return (f"{threads:>7} {batch:>5}  {fmt(rust):>24}  {fmt(torch):>24}  "
            f"{statistics.median(ratios):6.2f} [{min(ratios):.2f}–{max(ratios):.2f}]  "
            f"{frac:5.1f}% of {peak:.0f}")


def table(rows, a):
    head = (f"Preset {a.preset}; {a.rounds} interleaved rounds per row; examples/s as median "
            f"[min–max over rounds]\n"
            f"{'threads':>7} {'batch':>5}  {'Rust ex/s':>24}  {'PyTorch ex/s':>24}  "
            f"{'Rust/PyTorch':>18}  Rust GFLOP/s vs faer GEMM peak\n")
    return head + "\n".join(line(r) for r in rows) + "\n"


if __name__ == "__main__":
    main()
