#!/usr/bin/env python3
"""Tables of the circuit results (docs/CIRCUIT.md), read from files `fhn` wrote:
results/circuit/mnist-quick/net.cir.check.json (`fhn export spice … --check`) and
results/circuit/quick-s1/hardware/hardware.json (`fhn hardware`).
Usage: circuit_table.py small|mnist|hardware"""
import json

yes = {True: "yes", False: "no", None: "unknown"}
import statistics
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent / "results" / "circuit"


def small():
    print("| network (`fhn export spice examples/NAME.toml -o results/circuit/NAME.cir --check --tran 0.01,50`) | "
          "elements | `.op` from our state | `.op` from zero | our state stable |")
    print("|---|---|---|---|---|")
    for name in ["ring", "oscillator"]:
        r = json.loads((root / f"{name}.cir.check.json").read_text())[0]
        c = r["check"]
        print(f"| {name} | {r['elements']} | {c['from_model_state']['relative_difference']:.1e} | "
              f"{c['from_zero']['relative_difference']:.1e} | {yes[c['model']['stable']]} |")


def mnist():
    rows = json.loads((root / "mnist-quick" / "net.cir.check.json").read_text())
    print("| test image | label | model class | circuit class (from our state) | output difference | "
          "circuit from zero: difference / class / stable | ngspice s (ours / zero) | ngspice MB |")
    print("|---|---|---|---|---|---|---|---|")
    worst, same, zero_same, secs, mem = 0.0, 0, 0, [], []
    for r in rows:
        c, i = r["check"], r["input"]
        ours, zero = c["from_model_state"], c["from_zero"]
        worst = max(worst, ours["output_relative_difference"])
        same += ours["class"] == c["model"]["class"]
        zero_same += zero["class"] == c["model"]["class"]
        secs.append(c["ngspice_seconds"])
        mem.append(c["ngspice_memory_mb"])
        print(f"| {i['test_image']} | {i['label']} | {c['model']['class']} | {ours['class']} | "
              f"{ours['output_relative_difference']:.1e} | {zero['relative_difference']:.1e} / "
              f"{zero['class']} / {yes[zero['stable']]} | {c['ngspice_seconds']:.0f} / "
              f"{c['ngspice_seconds_from_zero']:.0f} | {c['ngspice_memory_mb']:.0f} |")
    print(f"\n{len(rows)} images, {rows[0]['elements']:,} elements per deck: the circuit's outputs equal "
          f"the model's to {worst:.1e} (largest relative difference) and give the same class "
          f"{same}/{len(rows)} times; started from zero, ngspice gives the model's class "
          f"{zero_same}/{len(rows)} times. ngspice: {statistics.median(secs):.0f} s median per "
          f"operating point, at most {max(mem):.0f} MB.")


def hardware():
    h = json.loads((root / "quick-s1" / "hardware" / "hardware.json").read_text())
    rows = h["rows"]
    pct = lambda x: f"{100 * x:.2f} %"
    print(f"Checkpoint {h['checkpoint']} ({'-'.join(map(str, h['widths']))}, "
          f"{h['conductances']:,} conductances), {h['test_images']:,} test images:\n")
    print("| variant | test error | negative conductances (active elements) |")
    print("|---|---|---|")
    for r in rows:
        if r["variant"] == "exact":
            print(f"| full precision (f32) | {pct(r['error'])} | {r['negative_conductances']:,} |")
        elif r["variant"] == "bits":
            print(f"| {r['bits']}-bit conductances | {pct(r['error'])} | {r['negative_conductances']:,} |")
    for s in sorted({r["sigma"] for r in rows if r["variant"] == "mismatch"}):
        e = [r["error"] for r in rows if r["sigma"] == s]
        print(f"| mismatch σ = {100 * s:g} % ({len(e)} draws) | median {pct(statistics.median(e))}, "
              f"mean {pct(statistics.mean(e))}, range {pct(min(e))}–{pct(max(e))} | unchanged |")
    for r in rows:
        if r["variant"] == "passive":
            print(f"| passive only (negative conductances removed) | {pct(r['error'])} | 0 |")


if __name__ == "__main__":
    {"small": small, "mnist": mnist, "hardware": hardware}[sys.argv[1]]()
