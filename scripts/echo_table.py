#!/usr/bin/env python3
"""Prints the Hamiltonian Echo Backpropagation tables of results/README.md from the files
`fhn hamiltonian echo` and `fhn hamiltonian echo-train` wrote (results/hamiltonian/echo/,
results/hamiltonian/echo-train/)."""
import glob
import json
import os


def fmt(x, spec=".2e"):
    return "—" if x is None else format(x, spec)


def study():
    files = sorted(glob.glob("results/hamiltonian/echo/echo_w*_c*.json"))
    print("| width | coupling | slope one-sided | slope centered | centered error at η = 1e-4 (depth of η sweep) "
          "| growth/layer echo f64 | echo f32 | forward f32 | faithful depth f64 | f32 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for f in files:
        r = json.load(open(f))
        c = r["config"]
        at = next(e for e in r["eta_rows"] if abs(e["eta"] - 1e-4) < 1e-12)
        g = lambda k: fmt(r[k]["growth_factor"], ".3f")
        print(f"| {c['width']} | {c['coupling']} | {r['slopes'][0]:.3f} | {r['slopes'][1]:.3f} "
              f"| {at['centered']:.2e} ({c['eta_depth']}) | {g('echo_f64')} | {g('echo_f32')} | {g('forward_f32')} "
              f"| {r['echo_f64']['faithful_depth']} | {r['echo_f32']['faithful_depth']} |")
    if files:
        s = json.load(open(files[0]))["steady"]
        print()
        print(f"Steady-state comparison ({s['shape'][0]}×{s['shape'][1]}, `{os.path.basename(files[0])}`): the forward "
              f"pass started from the steady state's layers 0 and 1 reproduces it to {s['forward_vs_steady']:.1e}; "
              f"centered EqProp matches the implicit gradient to {s['eqprop_vs_implicit']:.1e}; the echo·adjoint "
              f"cosine is {s['echo_vs_adjoint_cosine']:.8f}; per coupling layer, the cosine of the initial-value "
              f"gradient with the steady-state gradient is "
              + ", ".join(f"{c:.3f}" for c in s["ivp_vs_steady_cosine"]) + ".")


def training(pattern="results/hamiltonian/echo-train*"):
    runs = sorted(glob.glob(f"{pattern}/*/metrics.jsonl"))
    print("| run | estimator | depth | epochs | best epoch | val error | test error (best val) | s/epoch "
          "| min echo·adjoint cosine | echo·EqProp(steady) cosine per layer, last epoch | skipped | stopped by |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for m in runs:
        d = os.path.dirname(m)
        run = json.load(open(os.path.join(d, "config.json")))
        cfg = run.get("model", run)
        rows = [json.loads(l) for l in open(m) if l.strip()]
        if not rows:
            continue
        best = min(rows, key=lambda r: r["val_error"])
        log = open(os.path.join(d, "log.txt")).read() if os.path.exists(os.path.join(d, "log.txt")) else ""
        stop = next((l.strip() for l in log.splitlines() if l.startswith("error:")), "")
        if not stop and len(rows) < cfg["epochs"]:
            stop = "(incomplete: no error logged)"
        steady = rows[-1].get("echo_vs_steady")
        st = "—"
        if isinstance(steady, dict) and "Ok" in steady:
            st = " ".join(f"{c:.2f}" for c in steady["Ok"])
        cosines = [min(r["echo_vs_adjoint"]) for r in rows if r["echo_vs_adjoint"]]
        cos = f"{min(cosines):.7f}" if cosines else "—"
        secs = sum(r["seconds"] for r in rows) / len(rows)
        print(f"| {os.path.relpath(d, 'results/hamiltonian')} | {run['estimator']} | {cfg['depth']} | {len(rows)}/{cfg['epochs']} "
              f"| {best['epoch']} | {100 * best['val_error']:.2f}% | {100 * best['test_error']:.2f}% | {secs:.1f} "
              f"| {cos} | {st} | {sum(r.get('skipped', 0) for r in rows)} | {stop or 'finished'} |")


if __name__ == "__main__":
    import sys
    what = sys.argv[1] if len(sys.argv) > 1 else "study"
    if what == "study":
        study()
    else:
        training(*sys.argv[2:])
