#!/usr/bin/env python3
"""Fills the generated blocks of README.md and docs/*.md (between `<!-- generated:NAME -->` and
`<!-- /generated -->`) from files the tools wrote under results/. Run after new results land;
`--check` exits 1 when README.md is out of date."""
import json, re, statistics, sys, tomllib
from pathlib import Path

root = Path(__file__).resolve().parent.parent
res = root / "results"


def runs(preset, pattern=r"{}-s\d+"):
    """Finished runs in results/mnist/ whose folder name matches `pattern` (default: the
    preset's seed runs, `quick-s1`, …)."""
    out = []
    for d in sorted((res / "mnist").iterdir()):
        if not re.fullmatch(pattern.format(re.escape(preset)), d.name):
            continue
        cfg = tomllib.loads((d / "config.toml").read_text())
        if cfg["name"] != preset or not (d / "results.json").exists():
            continue
        r = json.loads((d / "results.json").read_text())
        if r["epochs"] == cfg["training"]["epochs"]:
            out.append(r)
    return out


def pct(x):
    return f"{100 * x:.2f} %"


def mean_std(rs):
    e = [r["test_error_at_best"] for r in rs]
    seeds = sorted(r["seed"] for r in rs)
    s = f"{pct(statistics.mean(e))} ± {pct(statistics.stdev(e))}" if len(e) > 1 else pct(e[0])
    return s, f"{seeds[0]}–{seeds[-1]}" if len(seeds) > 1 else str(seeds[0])


def quick():
    q, b, h = runs("quick"), runs("best"), runs("hopfield")
    qs, seeds = mean_std(q)
    mins = sorted(r["train_seconds"] / 60 for r in q)
    s1 = next(r for r in q if r["seed"] == 1)
    hs, hseeds = mean_std(h)
    v2 = runs("quick", r"{}-s1-v2")[0]
    return (
        f"On this 2-core machine, with one thread and another run on the second core, it trained in "
        f"{mins[0]:.1f}–{mins[-1]:.1f} min (plus evaluation) and reached {qs} test error over seeds "
        f"{seeds} ({pct(s1['test_error_at_best'])} for seed 1); after the speed work of session 2 the "
        f"same run (`results/mnist/quick-s1-v2`) trained in {v2['train_seconds'] / 60:.1f} min to "
        f"{pct(v2['test_error_at_best'])}. Longer runs (`results/README.md`): the "
        f"`best` preset (784-1024-10, 30 epochs) reached **{pct(min(r['test_error_at_best'] for r in b))} "
        f"test error** at its best-validation epoch (paper: 2.8 % ± 0.2), the Hopfield baseline "
        f"(784-500-10) in the same trainer {hs} over seeds {hseeds}."
        + hopfield_redblack_sentence()
        + deep_sentence()
    )


def hopfield_redblack_sentence():
    """configs/hopfield-1024-redblack.toml's finished seeds, when there are some."""
    h = runs("hopfield-1024-redblack")
    if not h:
        return ""
    hs, seeds = mean_std(h)
    return (f" The 784-1024-10 Hopfield network with exact layer-wise (red-black) relaxation "
            f"(`configs/hopfield-1024-redblack.toml`) reached {hs} test error over seeds {seeds}.")


def where(r):
    """Where a finished run trained: the GPU its log's first line names, or this CPU."""
    first = (res / "mnist" / f"{r['name']}-s{r['seed']}" / "log.txt").read_text().splitlines()[0]
    gpu = re.search(r"cuda \((.*?)\)", first)
    return f"seed {r['seed']} on {'an ' + gpu[1] + ' with `--device cuda`' if gpu else 'this CPU'}"


def places(rs):
    """Where a configuration's runs trained: "on this CPU" when all did, else each seed's place."""
    each = [where(r) for r in sorted(rs, key=lambda r: r["seed"])]
    return "on this CPU" if all(w.endswith("this CPU") for w in each) else ", ".join(each)


def seeds_phrase(rs):
    s, seeds = mean_std(rs)
    return f"{s} (seed{'s' if len(rs) > 1 else ''} {seeds})"


def deep_sentence():
    """The deep preset's finished runs (configs/deep-shift1.toml, the preset's file), then its
    earlier versions' (configs/deep-cosine-wd-40.toml; run name `deep`, now configs/deep-v1.toml)
    and the other deep configs'."""
    parts = []
    d = runs("deep-shift1")
    if d:
        parts.append(f"the FHN network reached **{seeds_phrase(d)}** test error (the `deep` preset, "
                     f"`configs/deep-shift1.toml`: cosine schedule over 40 epochs, weight decay "
                     f"1e-4, training images shifted by up to one pixel; {places(d)})")
    w40 = runs("deep-cosine-wd-40")
    if w40:
        parts.append(f"without the shift (`configs/deep-cosine-wd-40.toml`, {places(w40)}) {seeds_phrase(w40)}")
    v1 = runs("deep")
    if v1:
        parts.append(f"its first version (`configs/deep-v1.toml`; {places(v1)}) {seeds_phrase(v1)}")
    wd = runs("deep-cosine-wd")
    if wd:
        parts.append(f"30 epochs with weight decay (`configs/deep-cosine-wd.toml`, {places(wd)}) {seeds_phrase(wd)}")
    hd = runs("hopfield-deep")
    if hd:
        parts.append(f"the Hopfield network of the same shape (`configs/hopfield-deep.toml`) {seeds_phrase(hd)}")
    if not parts:
        return ""
    return " With three hidden layers (784-512-512-512-10) " + "; ".join(parts) + "."


def sci(x, digits=1):
    """1.2e-9 rather than Python's 1.2e-09."""
    m, e = f"{x:.{digits}e}".split("e")
    return f"{m}e{int(e)}"


def checks():
    c = res / "checks"
    a = json.loads((c / "adjoint.json").read_text())
    e = json.loads((c / "energy.json").read_text())
    g = json.loads((c / "gradient.json").read_text())
    t = json.loads((res / "turing" / "turing.json").read_text())
    small = min(g["sweep"], key=lambda r: r["beta"])
    rows = [
        ("∂Φ by finite differences; f = Q∇F", f"{sci(e['gradient_error'])}, {sci(e['reaction_error'])} relative"),
        ("‖S − Sᵀ‖/‖S‖ closed form (paper M⁻¹) / finite differences",
         f"{sci(a['asymmetry_closed_form'])} / {sci(a['asymmetry_finite_difference'])}"),
        ("closed form vs finite differences", sci(a['closed_vs_fd'])),
        ("full Jacobian asymmetry ‖J − Jᵀ‖/‖J‖", f"{a['jacobian_asymmetry']:.2f} (not symmetric)"),
        (f"EqProp centered cosine with the exact gradient, β = {sci(small['beta'], 0)}",
         f"{small['cosine_centered']:.11f}"),
        ("error slopes one-sided / centered", f"{g['slope_one_sided']:.3f} / {g['slope_centered']:.3f}"),
        (f"Turing growth rate, measured vs predicted ({t['nodes']}-node path)",
         f"{t['measured_rate']:.5f} vs {t['dispersion']['fastest_rate']:.5f} ({sci(t['rate_relative_error'], 0)})"),
    ]
    head = (f"Physics checks (`fhn check …`, random {a['nodes']}-node graph with "
            f"{a['negative_conductances']} negative conductances; `results/checks/`):\n\n"
            "| check | measured |\n|---|---|\n")
    return head + "\n".join(f"| {k} | {v} |" for k, v in rows)


def scale():
    text = (res / "bench" / "physics.txt").read_text()
    eul = re.search(r"Euler, (\d+) nodes, (\d+) Laplacian entries: ([\d.]+) ms/step, ([\d.]+) ns per node-step, ~([\d.]+) GB/s", text)
    newt = re.search(r"Newton \(sparse LU\), (\d+) × (\d+) grid graph, (\d+) nodes: \d+ iterations, residual ([\d.e+-]+), ([\d.]+) s", text)
    n = lambda x: f"{int(x):,}".replace(",", " ")
    return (
        f"Scale (`cargo bench --bench physics`, results/bench/physics.txt): explicit Euler on a sparse "
        f"random graph of {n(eul[1])} nodes ({n(eul[2])} Laplacian entries, CSR, no dense matrix) "
        f"takes {eul[3]} ms per step — {eul[4]} ns per node-step, about {eul[5]} GB/s of streamed matrix "
        f"and state data on one core; Newton with faer's sparse LU solves a {n(newt[3])}-node grid "
        f"network to residual {sci(float(newt[4]))} in {newt[5]} s."
    )


def side_by_side():
    rows = json.loads((res / "bench" / "side_by_side.json").read_text())
    ratio = {}
    for r in rows:
        med = lambda v: statistics.median(v)
        k = (r["threads"], r["batch"])
        ratio.setdefault(k, []).append(med(r["rust"]["examples_per_second"]) / med(r["pytorch"]["examples_per_second"]))
    big = [statistics.median(v) for (t, b), v in ratio.items() if b >= 32]
    one = [statistics.median(v) for (t, b), v in ratio.items() if b == 1]
    return (f"In results/bench/side_by_side.txt Rust runs {min(big):.1f}–{max(big):.1f}× as many examples/s "
            f"as PyTorch at batch 32/128 and {min(one):.1f}–{max(one):.1f}× at batch 1.")


def setup():
    f = res / "setup" / "fresh_clone.json"
    if not f.exists():
        return "(not measured yet: `scripts/fresh_setup.sh`)."
    j = json.loads(f.read_text())
    return (f"(`scripts/fresh_setup.sh` on a fresh clone of {j['commit'][:7]}, {j['cores']} cores, "
            f"crates already downloaded: `cargo build --release` {j['release_build_seconds'] / 60:.1f} min, "
            f"then `cargo test --release` {j['test_command_seconds'] / 60:.1f} min for compiling and "
            f"running {j['tests_passed']} tests; "
            + (f"measured while other builds ran, load average {j['load_average_at_end']}: an upper bound)."
               if j["load_average_at_end"] > 2.5 else f"load average {j['load_average_at_end']}).")
            )


def table(script, section):
    """A section printed by scripts/<script> (each reads the results files itself)."""
    import subprocess
    out = subprocess.run([sys.executable, str(root / "scripts" / script), section],
                         capture_output=True, text=True, check=True).stdout
    return out.strip()


def gpu(section):
    """A section of scripts/gpu_table.py (results/bench/gpu-h200/)."""
    return table("gpu_table.py", section)


def python_overhead():
    """results/python/overhead.json (python/bench/overhead.py)."""
    j = json.loads((root / "results" / "python" / "overhead.json").read_text())
    py, cli = statistics.median(j["python_examples_per_second"]), statistics.median(j["cli_examples_per_second"])
    return (f"Median of {len(j['cli_examples_per_second'])} interleaved samples of "
            f"{j['batches_per_sample']} batches: Python {py:,.0f} examples/s, command line {cli:,.0f} examples/s; "
            f"median ratio Python / command line {j['median_python_over_cli']:.3f} (Python {j['python']}; "
            f"the command line's step also applies the update).")


def python_build():
    """results/python/build.json (python/bench/build_time.sh)."""
    j = json.loads((root / "results" / "python" / "build.json").read_text())
    return (f"`python/bench/build_time.sh`: a fresh environment with maturin, numpy and pytest took "
            f"{j['environment_seconds']:.0f} s, then `pip install ./python` {j['pip_install_python_seconds']:.0f} s "
            f"(PyO3 and the bindings compiled, the library's release build already there; Python {j['python']}, "
            f"{j['cores']} cores, load average {j['load_average_at_end']} at the end"
            + (": other runs shared the machine, an upper bound)." if j["load_average_at_end"] > 2.5 else ")."))


def python_mnist():
    """results/python/mnist_fhn_layer.json (python/examples/mnist_fhn_layer.py)."""
    j = json.loads((root / "results" / "python" / "mnist_fhn_layer.json").read_text())
    a = j["args"]
    rows = ["| epoch | train loss | train error | test error | seconds |", "|---|---|---|---|---|"]
    for e in j["epochs"]:
        rows.append(f"| {e['epoch']} | {e['train_loss']:.3f} | {100 * e['train_error']:.2f} % | "
                    f"{100 * e['test_error']:.2f} % | {e['seconds']:.0f} |")
    return (f"`python python/examples/mnist_fhn_layer.py --train {a['train']} --epochs {a['epochs']} "
            f"--test {a['test']}` (β = {a['beta']}, batch {a['batch']}; test error on the first "
            f"{a['test']} test images):\n\n" + "\n".join(rows))


def before_after_fast():
    """results/bench/before_after_fast.txt (scripts/before_after.sh with CONFIG), fenced."""
    return "```\n" + (res / "bench" / "before_after_fast.txt").read_text().strip() + "\n```"


blocks = {"before_after_fast": before_after_fast, "setup": setup, "quick": quick, "checks": checks, "scale": scale, "side_by_side": side_by_side,
          "gpu_agreement": lambda: gpu("agreement"), "gpu_speed": lambda: gpu("speed"),
          "gpu_epochs": lambda: gpu("epochs"),
          "deep_probe": lambda: table("deep_tables.py", "probe"),
          "deep_solvers": lambda: table("deep_tables.py", "solvers"),
          "deep_levers": lambda: table("deep_tables.py", "levers"),
          "fast_levers": lambda: table("deep_tables.py", "fast_levers"),
          "fast4_levers": lambda: table("deep_tables.py", "fast4_levers"),
          "deep_epoch_speed": lambda: table("deep_tables.py", "epoch_speed"),
          "deep_preset_epochs": lambda: table("deep_tables.py", "preset_epochs"),
          "deep_residual_speed": lambda: table("deep_tables.py", "residual_speed"),
          "hopfield_levers": lambda: table("deep_tables.py", "hopfield_levers"),
          "eval_convergence": lambda: table("deep_tables.py", "eval_convergence"),
          "deep_runs": lambda: table("deep_tables.py", "deep_runs"),
          "optimizer_residuals": lambda: table("deep_tables.py", "optimizer_residuals"),
          "deep_seeds": lambda: table("deep_tables.py", "deep_seeds"),
          "tolerance_steps": lambda: table("deep_tables.py", "tolerance_steps"),
          "hopfield_seeds": lambda: table("deep_tables.py", "hopfield_seeds"),
          "depth_sweep": lambda: table("deep_tables.py", "depth_sweep"),
          "depth_sweep_hopfield": lambda: table("deep_tables.py", "depth_sweep_hopfield"),
          "hopfield_depth_probe": lambda: table("deep_tables.py", "hopfield_depth_probe"),
          "time_to_accuracy": lambda: table("time_to_accuracy.py", "all"),
          "circuit_small": lambda: table("circuit_table.py", "small"),
          "circuit_mnist": lambda: table("circuit_table.py", "mnist"),
          "circuit_hardware": lambda: table("circuit_table.py", "hardware"),
          "python_overhead": python_overhead, "python_mnist": python_mnist,
          "python_build": python_build,
          "scaling_measured": lambda: table("scaling_table.py", "measured"),
          "scaling_model": lambda: table("scaling_table.py", "model")}
stale = []
for doc in [root / "README.md", root / "docs" / "PERFORMANCE.md", root / "docs" / "TRAINING.md",
            root / "docs" / "DEPTH.md", root / "docs" / "CIRCUIT.md", root / "docs" / "PYTHON.md", root / "docs" / "SCALING.md"]:
    text = doc.read_text()
    # The body never contains a closing marker, so an empty block cannot swallow the next one.
    new = re.sub(
        r"(<!-- generated:(\w+) -->\n)((?:(?!<!-- /generated -->).)*?)(<!-- /generated -->)",
        lambda m: m[1] + blocks[m[2]]() + "\n" + m[4],
        text,
        flags=re.S,
    )
    if new != text:
        stale.append(doc.name)
        if "--check" not in sys.argv:
            doc.write_text(new)
if "--check" in sys.argv and stale:
    sys.exit(f"{', '.join(stale)} out of date: run scripts/update_readme.py")
