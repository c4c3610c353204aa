#!/usr/bin/env bash
# Regenerates results/README.md from the files the tools wrote under results/.
set -euo pipefail
cd "$(dirname "$0")/.."
{
cat <<'TXT'
# Results

Every number below is read by a script from files that `fhn` itself wrote; this page is
regenerated with `scripts/build_results_readme.sh`. Machine: the 2-core AVX-512 development
machine; runs used `--threads 1` and usually shared the machine with one other run — except
where the "ran on" column or the GPU section names a GPU.

## MNIST (test error at the epoch with the best validation error)

Run folders under `results/mnist/` (copied from `runs/`: config.toml, log.txt, metrics.jsonl,
results.json, curves.png). Reproduce with `fhn train --preset NAME --seed S --threads 1`.
The paper preset ran to its 30 epochs (epochs 1–6 and 14–30 with one thread, 7–13 with
two — its log.txt records each start). `hopfield-1024` is `fhn train --config configs/hopfield-1024.toml
--threads 1` (the 784-1024-10 Hopfield baseline of issue 11), `hopfield-1024-momentum` the same
with `configs/hopfield-1024-momentum.toml` (momentum 0.9, learning rates / 10, cosine schedule),
`hopfield-1024-redblack` with `configs/hopfield-1024-redblack.toml` (exact red-black sweeps,
learning rates × 4, weight decay). `deep` (deep-s1, deep-s2) is the first version of
the `deep` preset, now `configs/deep-v1.toml`; `deep-cosine-wd-40` is its second version,
`configs/deep-cosine-wd-40.toml`; `deep-shift1` is `configs/deep-shift1.toml` (the second version
with training images shifted by up to one pixel), which the `deep` preset now equals (a test
checks it); `deep-dt1`, `deep-halving`, `deep-cosine`, `deep-cosine-wd`, `deep-cosine-wd-mom`,
`deep-cosine-adam`, `deep-wd3e-4`, `deep-leak1.5`, `deep-tol5e-3`, `deep-free-tol5e-3`, `deep-shift1-free-tol5e-3` and
`deep-shift1-free-tol5e-3-60` are the configs of those names in `configs/` (docs/TRAINING.md, deep
networks); `hopfield-deep` is
`configs/hopfield-deep.toml`, 784-512×3-10 Hopfield with small initial weights and β = 0.2
(docs/DEPTH.md); unfinished runs show the epochs done so far.
Paper: 2.8 % ± 0.2.

TXT
python3 scripts/results_table.py
cat <<'TXT'

`best.safetensors` of the best FHN run is committed: `fhn eval results/mnist/best-s1/best.safetensors`
reproduces its logged test error exactly (the test `training_is_deterministic_resumable_and_eval_reproduces`
checks this property on a small run).

## Time to accuracy (issue 11; docs/TRAINING.md)

Training wall time (2 threads, evaluation excluded, the machine otherwise idle) until the
validation error first reaches 2.6 % and 2.0 %; run folders in `results/time-to-accuracy/`
(`fhn train --preset fast|best --threads 2`), table by `scripts/time_to_accuracy.py`:

TXT
python3 scripts/time_to_accuracy.py
cat <<'TXT'

## Depth sweep, 4 epochs (issue 11; docs/DEPTH.md)

`fhn sweep configs/sweeps/depth-short.toml` (1–4 hidden layers of 512, FHN and Hopfield, 4
epochs, seed 1; run folders, `sweep.md` and `depth.png` in `results/sweeps/depth-short/`),
table by `scripts/deep_tables.py depth_sweep`:

TXT
python3 scripts/deep_tables.py depth_sweep
cat <<'TXT'

![test error against depth](sweeps/depth-short/depth.png)

The Hopfield half again with initial weights N(0, 1)·0.4/√fan_in and β = 0.2 (the larger
weights and β = 1 leave deep Hopfield nets with clipped units and no gradient; docs/DEPTH.md):
`fhn sweep configs/sweeps/depth-short-hopfield.toml`, table by
`scripts/deep_tables.py depth_sweep_hopfield`:

TXT
python3 scripts/deep_tables.py depth_sweep_hopfield
cat <<'TXT'

![test error against depth, Hopfield with small initial weights](sweeps/depth-short-hopfield/depth.png)

## Deep preset: epoch time and residual on this machine (issue 11; docs/TRAINING.md)

`PAUSE=<pid> scripts/deep_epoch_speed.sh` (2 threads, the first 3 200 training images per run,
2 interleaved rounds; the epoch time is implied for 50 000 images), table by
`scripts/deep_tables.py epoch_speed`:

TXT
python3 scripts/deep_tables.py epoch_speed
cat <<'TXT'

Over full epochs of its runs (`scripts/deep_tables.py preset_epochs`; training time per epoch,
evaluation excluded, with whatever else ran on the machine; the threads of each process start
in the second column; deep-shift1 is the preset, deep-cosine-wd-40 its version without shifted images, and the
`-free-tol5e-3` configs are these with the free phase stopped at residual 5e-3, `-60` over 60 epochs):

TXT
python3 scripts/deep_tables.py preset_epochs
cat <<'TXT'

At trained weights (`PAUSE=<pid…> scripts/deep_residual_speed.sh`: each variant resumes
deep-cosine-wd-40-s1's best checkpoint for a last epoch on 3 200 images, 2 threads, 2
interleaved rounds; the tolerance stops each phase of a shard once ‖∂Φ/∂s‖∞ ≤ tol, so its
steps depend on the thread count; the engine of `--device` runs fixed steps only), table by
`scripts/deep_tables.py residual_speed`. These images are harder than the average: the run's own
epoch 40 from the same weights over all 50 000 images ended at 8.7e-3 (docs/TRAINING.md).

TXT
python3 scripts/deep_tables.py residual_speed
cat <<'TXT'

## Speed (`cargo bench --bench train_step`)

TXT
echo '```'
cat results/bench/train_step.txt 2>/dev/null || echo "(not measured yet)"
echo '```'
cat <<'TXT'

## On a GPU (`bench/gpu/run.sh`, outputs in `results/bench/gpu-h200/`)

CPU trainer vs `--device cuda`, three steps from the same weights (`fhn bench-step --device cuda
--check --batches 3`; last column: the CPU trainer from weights moved by one ulp):

TXT
python3 scripts/gpu_table.py
cat <<'TXT'
## Physics at scale (`cargo bench --bench physics`)

TXT
echo '```'
cat results/bench/physics.txt
echo '```'
cat <<'TXT'

## Peak memory of the paper preset

`/usr/bin/time -v fhn train --config results/memory/paper_preset_memory_config.toml --threads 2`
(the full data set is loaded; training limited to 3 200 images for the measurement):
TXT
echo
grep -E "Maximum resident" results/memory/paper_preset_time_v.txt | sed 's/^\s*/    /'
cat <<'TXT'

## Checks (`fhn check … --json`, outputs in `results/checks/`)

TXT
python3 - <<'PY'
import json
from pathlib import Path
c = Path("results/checks")
a = json.loads((c / "adjoint.json").read_text()); a2 = json.loads((c / "adjoint_200.json").read_text())
g = json.loads((c / "gradient.json").read_text()); e = json.loads((c / "energy.json").read_text())
print("| check | 60-node random graph | 200-node random graph |")
print("|---|---|---|")
print(f"| negative conductances / max Re λ(J) | {a['negative_conductances']} / {a['max_growth_rate']:.4f} | {a2['negative_conductances']} / {a2['max_growth_rate']:.4f} |")
for k, lab in [("asymmetry_closed_form", "‖S − Sᵀ‖/‖S‖ closed form"), ("asymmetry_finite_difference", "‖S − Sᵀ‖/‖S‖ finite differences"), ("closed_vs_fd", "closed form vs finite differences"), ("jacobian_asymmetry", "‖J − Jᵀ‖/‖J‖ (full Jacobian)")]:
    print(f"| {lab} | {a[k]:.2e} | {a2[k]:.2e} |")
print(f"\nEnergy check: ∂Φ by differences {e['gradient_error']:.1e}, f = Q∇F {e['reaction_error']:.1e}, dynamics = ∓∂Φ {e['velocity_error']:.1e}.\n")
print("EqProp vs implicit differentiation (60-node graph, %d parameters):\n" % g["parameters"])
print("| β | cosine one-sided | cosine centered | error one-sided | error centered |")
print("|---|---|---|---|---|")
for r in g["sweep"]:
    print(f"| {r['beta']:.0e} | {r['cosine_one_sided']:.9f} | {r['cosine_centered']:.11f} | {r['error_one_sided']:.2e} | {r['error_centered']:.2e} |")
print(f"\nFitted slopes: one-sided {g['slope_one_sided']:.3f}, centered {g['slope_centered']:.3f}; finite differences vs implicit {g['fd_vs_implicit']:.1e}.\n")
print("Layered FHN network, EqProp vs the exact gradient (`fhn check layered`):\n")
print("| network | setting | free residual | cosine | relative error |")
print("|---|---|---|---|---|")
for f, name in [("layered.json", "40-30-20-10, weights N(0, 0.3²)"), ("layered_paper_scale.json", "40-30-20-10, weights N(0, 0.014²)"), ("layered_784_64_10_paper_scale.json", "784-64-10, weights N(0, 0.014²)")]:
    for r in json.loads((c / f).read_text()):
        print(f"| {name} | {r['setting']} | {r['free_residual']:.1e} | {r['cosine']:.6f} | {r['relative_error']:.2e} |")
t = json.loads(Path("results/turing/turing.json").read_text())
d = t["dispersion"]
print(f"\nTuring demo (`fhn simulate turing`, {t['nodes']} nodes): fastest mode q = {d['fastest_q']:.4f}, predicted rate {d['fastest_rate']:.5f}, "
      f"measured {t['measured_rate']:.5f} (relative error {t['rate_relative_error']:.1e}); final residual {t['final_residual']:.1e}; figures in results/turing/.")
PY
cat <<'TXT'

## Hamiltonian inference (`scripts/hamiltonian_runs.sh`, JSON and PNG in `results/hamiltonian/`)

TXT
python3 scripts/hamiltonian_table.py
cat <<'TXT'

## Hamiltonian Echo Backpropagation (docs/HAMILTONIAN.md §8)

The echo against the explicit adjoint (`scripts/echo_study.sh`: `fhn hamiltonian echo --width 16
--coupling C --max-depth 60`; JSON, text and PNGs in `results/hamiltonian/echo/`). Relative
error ‖g_echo − g_adjoint‖/‖g_adjoint‖ in f64; slopes fitted for η ≥ 1e-3; depth sweep with the
centered echo at η = 1e-4 (f64) and 1e-2 (f32, forward and echo in f32); growth factors fitted
on errors between 1e-13 and 1e-3; "faithful": error ≤ 1e-3.

TXT
python3 scripts/echo_table.py study
echo
cat <<'TXT'
MNIST through the echo (`scripts/heb_runs.sh`: `fhn hamiltonian echo-train --width 64 --depth N
--coupling-bound 0.1 --estimator echo|adjoint`; folders in `results/hamiltonian/echo-train/`; the
settings that escaped in `results/hamiltonian/echo-train-escaped-*/`). The adjoint runs are the
control: the same network, seed and data order, with backpropagation through the layer map.
s/epoch is training time on one core shared with other work.

TXT
python3 scripts/echo_table.py training
cat <<'TXT'

The same network trained three ways (`scripts/heb_vs_eqprop.sh`: width 16, depth 6, fixed random
encoding, the first 5 000 training images, errors on the first 1 000 validation and test images):
through the echo, through the adjoint, and by centered EqProp (β = 1e-3) on the network's steady
state (layer 0 clamped to the encoded image, the prediction read from the steady state).

TXT
python3 scripts/echo_table.py training results/hamiltonian/echo-vs-eqprop
cat <<'TXT'

## The network as a circuit (docs/CIRCUIT.md, files in `results/circuit/`)

ngspice against our steady states on the example networks:

TXT
python3 scripts/circuit_table.py small
cat <<'TXT'

The `quick` network (784-500-10) in ngspice for the first 10 test digits
(`fhn export spice results/circuit/quick-s1/best.safetensors --input 0..10 -o results/circuit/mnist-quick/net.cir --check`;
timed while two other jobs shared the 2 cores):

TXT
python3 scripts/circuit_table.py mnist
cat <<'TXT'

What hardware would do to it (`fhn hardware results/circuit/quick-s1/best.safetensors --out results/circuit/quick-s1/hardware --threads 1`):

TXT
python3 scripts/circuit_table.py hardware
cat <<'TXT'

## Python (docs/PYTHON.md, files in `results/python/`)

TXT
python3 - <<'PY'
import json
from pathlib import Path
b = json.loads(Path("results/python/build.json").read_text())
o = json.loads(Path("results/python/overhead.json").read_text())
m = json.loads(Path("results/python/mnist_fhn_layer.json").read_text())
print(f"- `python/bench/build_time.sh`: `pip install ./python` {b['pip_install_python_seconds']:.0f} s after the "
      f"library's release build (fresh environment {b['environment_seconds']:.0f} s; load average {b['load_average_at_end']}).")
print(f"- `python/bench/overhead.py`: the EqProp step on a batch of 32 from Python vs `fhn bench-step`, "
      f"median ratio {o['median_python_over_cli']:.3f} over {len(o['cli_examples_per_second'])} interleaved samples.")
e = m["epochs"][-1]
print(f"- `python/examples/mnist_fhn_layer.py` (PyTorch, read-in + `FhnLayer([64, 32, 10])` trained through EqProp, "
      f"{m['args']['train']} training images): test error {100 * e['test_error']:.2f} % after {e['epoch']} epochs "
      f"({e['seconds']:.0f} s on a shared core).")
PY
} > results/README.md
