#!/usr/bin/env python3
"""Markdown tables of results/hamiltonian/**.json (written by `fhn hamiltonian`)."""
import json
from pathlib import Path

root = Path(__file__).resolve().parent.parent / "results" / "hamiltonian"
res, ebm = [], []
# The echo's files (echo*/, echo_*.json) have tables of their own (scripts/echo_table.py).
files = [p for p in root.rglob("*.json") if not any(q.startswith("echo") for q in p.relative_to(root).parts)]
for p in sorted(files, key=lambda p: (str(p.parent), json.loads(p.read_text())["depth"])):
    r = json.loads(p.read_text())
    (res if "coupling" in r else ebm).append((p.relative_to(root), r))

def cost(r, i):
    c = r["costs"][i]
    return f"{c['residual']:.1e} / {c['seconds']:.2f} s / {c['flops']:.1e}"

print("Deep residual FHN network (width 64; f = fitted per-layer error growth, r = largest multiplier of the linearised layer map at the homogeneous state):\n")
print("| file | δ | coupling | depth | polished residual | layer-2 error | faithful depth f64 / f32 | growth f (f64) | r | log10\|det J\| | time stepping: residual / time / FLOP | block Newton: residual / time / FLOP |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for p, r in res:
    print(f"| {p} | {r['delta']} | {r['coupling']} | {r['depth']} | {r['residual_polished']:.1e} | {r['first_computed_layer_error']:.1e} | "
          f"{r['f64_errors']['faithful_depth']} / {r['f32_errors']['faithful_depth']} | {r['f64_errors']['growth_factor']:.2f} | {r['max_multiplier_homogeneous']:.2f} | {r['layer_map_homogeneous']['log10_abs_det']:.1e} | {cost(r, 0)} | {cost(r, 1)} |")
print("\nDeep EBM (logistic ρ, width 64, gain 1; r at the middle layer):\n")
print("| file | depth | polished residual | faithful depth f64 / f32 | growth f (f64) | r | log10\|det J\| | descent: residual / time / FLOP | block Newton: residual / time / FLOP |")
print("|---|---|---|---|---|---|---|---|---|")
for p, r in ebm:
    print(f"| {p} | {r['depth']} | {r['residual_polished']:.1e} | {r['f64_errors']['faithful_depth']} / {r['f32_errors']['faithful_depth']} | "
          f"{r['f64_errors']['growth_factor']:.2f} | {r['max_multiplier_middle']:.1f} | {r['layer_map_middle']['log10_abs_det']:.2f} | {cost(r, 0)} | {cost(r, 1)} |")
