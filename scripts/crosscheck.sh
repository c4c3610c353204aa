#!/usr/bin/env bash
# One training step in Rust vs the PyTorch reference (f32 and f64), same weights and images.
# Needs bench/reference/setup.sh first. Writes results/bench/crosscheck/<preset>-b<B>-t<T>.json.
set -euo pipefail
cd "$(dirname "$0")/.."
py="${FHN_TORCH_PYTHON:-bench/reference/.venv/bin/python}"
cargo build --release --quiet
mkdir -p results/bench/crosscheck
for preset in paper quick; do
  for bt in "32 1" "32 2" "1 1"; do
    set -- $bt
    dir="$(mktemp -d)"
    target/release/fhn bench-step --preset "$preset" --batch "$1" --threads "$2" --dump "$dir" >/dev/null
    "$py" bench/reference/fhn_torch.py check "$dir" > "results/bench/crosscheck/$preset-b$1-t$2.json"
    rm -rf "$dir"
  done
done
python3 - <<'PY'
import json, glob
for f in sorted(glob.glob("results/bench/crosscheck/*.json")):
    r = json.load(open(f))
    print(f"{f}: weights rel {r['max_weights_rel']:.2e}, update rel vs torch f64 per layer "
          + " ".join(f"{l['update_rel_rust_vs_torch64']:.1e}" for l in r["layers"]))
PY
