#!/usr/bin/env python3
"""docs/SCALING.md's tables from results/scaling/steps.jsonl (bench/mpi/scaling.sh):
`measured` (1 process x 2 threads vs 2 MPI processes x 1 thread, per round, and the cost of the
reduction) and `model` (speed-up of data-parallel training at 2-64 nodes on 10 and 100 Gbit/s,
from the measured cost per example and the all-reduce's bytes). Also writes
results/scaling/model.json. Usage: scaling_table.py measured|model"""
import json, math, statistics, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
steps = [json.loads(l) for l in (root / "results/scaling/steps.jsonl").read_text().splitlines()]
med = lambda d: statistics.median(d["examples_per_second"])

# Networks of the model: bandwidth (bytes/s) and per-message latency (s), assumed.
NETS = {"10 Gbit/s Ethernet (TCP, 30 µs)": (10e9 / 8, 30e-6),
        "100 Gbit/s RDMA (3 µs)": (100e9 / 8, 3e-6)}
NODES = [2, 4, 8, 16, 32, 64]
BATCHES = [32, 128, 512]


def measured():
    rows = ["| batch | round | 1 × 2 threads (ex/s) | 2 processes × 1 thread (ex/s) | ratio 2×1 / 1×2 | 1 × 1 (ex/s) | reduction alone (ms) | in the step (ms) | share of step time |",
            "|---|---|---|---|---|---|---|---|---|"]
    ratios = {}
    for b in sorted({d["batch"] for d in steps if d["setup"] != "local"}):
        for r in sorted({d["round"] for d in steps if d["setup"] != "local"}):
            get = {d["setup"]: d for d in steps if d["batch"] == b and d["round"] == r}
            one2, two1, one1 = get["1x2"], get["2x1"], get["1x1"]
            red = two1["reduction"]
            ratio = med(two1) / med(one2)
            ratios.setdefault(b, []).append(ratio)
            rows.append(f"| {b} | {r} | {med(one2):.1f} | {med(two1):.1f} | {ratio:.3f} | {med(one1):.1f} | "
                        f"{1e3 * red['seconds_per_update_alone']:.1f} | {1e3 * red['seconds_per_update_in_step']:.1f} | "
                        f"{100 * red['share_of_step_time']:.1f} % |")
    red = next(d for d in steps if d["setup"] == "2x1")["reduction"]
    alone = statistics.median(d["reduction"]["seconds_per_update_alone"] for d in steps if d["setup"] == "2x1")
    summary = "; ".join(f"batch {b}: median ratio {statistics.median(v):.3f}" for b, v in ratios.items())
    return ("\n".join(rows) + f"\n\n{summary}. Each update all-reduces {red['floats']} floats: "
            f"{red['bytes_sent_per_update'] / 1e6:.2f} MB sent per process (2·(P−1)/P of the gradient's "
            f"{4 * red['floats'] / 1e6:.2f} MB), {1e3 * alone:.1f} ms alone through shared memory "
            f"({red['bytes_sent_per_update'] / alone / 1e9:.2f} GB/s).")


def per_example():
    """Seconds per example of one thread's step at local batch b (measured at 8..128; below 8,
    extrapolated along the 8-16 slope in log-log)."""
    pts = sorted((d["batch"], 1 / med(d)) for d in steps if d["setup"] == "local")
    def c(b):
        if b <= pts[0][0]:
            (b0, c0), (b1, c1) = pts[0], pts[1]
        elif b >= pts[-1][0]:
            (b0, c0), (b1, c1) = pts[-2], pts[-1]
        else:
            (b0, c0), (b1, c1) = next((p, q) for p, q in zip(pts, pts[1:]) if p[0] <= b <= q[0])
        s = math.log(c1 / c0) / math.log(b1 / b0)
        return c0 * (b / b0) ** s
    return c, pts


def model():
    c, pts = per_example()
    floats = next(d for d in steps if d["setup"] == "2x1")["reduction"]["floats"]
    size = 4 * floats
    out, rows = [], []
    head = "| network | global batch | " + " | ".join(f"{p} nodes" for p in NODES) + " | smallest batch per node with the all-reduce ≤ 20 % of the step, 64 nodes |"
    rows += [head, "|---|---|" + "---|" * (len(NODES) + 1)]
    for net, (bw, lat) in NETS.items():
        allreduce = lambda p: 2 * (p - 1) / p * size / bw + 2 * (p - 1) * lat
        for B in BATCHES:
            one = B * c(B)
            cells = []
            for p in NODES:
                if B < p:
                    cells.append("–")
                    continue
                t = (B / p) * c(B / p) + allreduce(p)
                cells.append(f"{one / t:.1f}× ({100 * one / t / p:.0f} %)")
                out.append({"network": net, "batch": B, "nodes": p, "step_seconds": t, "speedup": one / t})
            # Smallest local batch b whose compute is ≥ 4 × the all-reduce at 64 nodes.
            b = next((b for b in range(1, 100000) if b * c(b) >= 4 * allreduce(64)), None)
            rows.append(f"| {net} | {B} | " + " | ".join(cells) + f" | {b} |")
    (root / "results/scaling/model.json").write_text(json.dumps(
        {"bytes_per_gradient": size, "per_example_seconds": pts, "networks": list(NETS), "rows": out}, indent=1) + "\n")
    return "\n".join(rows)


print({"measured": measured, "model": model}[sys.argv[1]]())
