#!/usr/bin/env bash
# The paper preset against paper-converged (only the solver differs), one epoch on the first
# 10 000 training images (evaluation on 2 000), one thread; run folders in
# results/ablations/paper-*/ (shown by scripts/deep_tables.py levers).
set -euo pipefail
cd "$(dirname "$0")/.."
fhn=${FHN:-target/release/fhn}
for p in paper paper-converged; do
  cfg=results/ablations/$p-1epoch.toml
  $fhn train --preset "$p" --print-config >"$cfg"
  sed -i 's/^train_limit = 0/train_limit = 10000/; s/^eval_limit = 0/eval_limit = 2000/; s/^epochs = 30/epochs = 1/' "$cfg"
  rm -rf "results/ablations/$p-1epoch"
  $fhn train --config "$cfg" --threads 1 --out "results/ablations/$p-1epoch" >/dev/null
  mv "$cfg" "results/ablations/$p-1epoch/"
done
