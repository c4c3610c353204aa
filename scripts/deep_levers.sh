#!/usr/bin/env bash
# Issue 11 levers on the deep preset, one epoch on the first 10 000 training images (evaluation
# on 2 000), one thread each, run folders in results/ablations/deep-<name>/. Each run differs
# from the `deep` preset only in the fields its sed line changes.
set -euo pipefail
cd "$(dirname "$0")/.."
fhn=${FHN:-target/release/fhn}
base=$(mktemp)
$fhn train --preset deep --print-config >"$base"
sed -i 's/^train_limit = 0/train_limit = 10000/; s/^eval_limit = 0/eval_limit = 2000/; s/^epochs = 30/epochs = 1/' "$base"
run() {
  local name=$1; shift
  local cfg=results/ablations/deep-$name.toml
  sed "$@" "$base" >"$cfg"
  sed -i "s/^name = \"deep\"/name = \"deep-$name\"/" "$cfg"
  rm -rf "results/ablations/deep-$name"
  $fhn train --config "$cfg" --threads 1 --out "results/ablations/deep-$name" >/dev/null
  mv "$cfg" "results/ablations/deep-$name/"
}
run base -e ''
run dt1 -e 's/^dt = 0.5/dt = 1.0/'
run redblack -e 's/^solver = "jacobi"/solver = "redblack"/; s/^free_steps = 150/free_steps = 40/; s/^nudge_steps = 50/nudge_steps = 15/; s/^eval_steps = 150/eval_steps = 40/'
