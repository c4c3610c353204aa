"""Overhead of the Python API: the trainer's EqProp estimate on a batch of 32 (`quick` preset,
one thread) from Python (`Layered.eqprop_gradients`) against the same step timed by the command
line (`fhn bench-step --preset quick --batch 32`, which also applies the update), in interleaved
samples. Writes results/python/overhead.json. Run from the repository root after
`cargo build --release` and `pip install ./python`."""
import os

os.environ.setdefault("RAYON_NUM_THREADS", "1")  # one thread, like the command line's --threads 1

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import fhn_eqprop as fe

BATCHES, SAMPLES = 8, 7
fhn = Path("target/release/fhn")
cfg = fe.preset("quick")
model = fe.Layered.create(cfg)
rng = np.random.default_rng(0)
# MNIST-like inputs: the timing does not depend on the pixel values beyond the relaxation's work.
images = rng.integers(0, 256, size=(32, 784), dtype=np.uint8)
labels = rng.integers(0, 10, size=32)
model.eqprop_gradients(images, labels)  # warm-up


def python_rate():
    t = time.perf_counter()
    for _ in range(BATCHES):
        model.eqprop_gradients(images, labels)
    return 32 * BATCHES / (time.perf_counter() - t)


def cli_rate():
    out = subprocess.run([str(fhn), "bench-step", "--preset", "quick", "--batch", "32", "--threads", "1",
                          "--batches", str(BATCHES), "--reps", "1", "--warmup", "1"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["examples_per_second"][0]


py, cli = [], []
for _ in range(SAMPLES):  # interleaved: A B A B …
    cli.append(cli_rate())
    py.append(python_rate())
ratio = statistics.median(p / c for p, c in zip(py, cli))
result = {"batch": 32, "preset": "quick", "threads": 1, "batches_per_sample": BATCHES,
          "python_examples_per_second": py, "cli_examples_per_second": cli,
          "median_python_over_cli": ratio, "python": sys.version.split()[0]}
Path("results/python").mkdir(parents=True, exist_ok=True)
Path("results/python/overhead.json").write_text(json.dumps(result, indent=2) + "\n")
print(f"Python {statistics.median(py):.0f} ex/s, CLI {statistics.median(cli):.0f} ex/s, "
      f"median ratio Python/CLI {ratio:.3f}")
