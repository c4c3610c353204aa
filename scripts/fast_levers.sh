#!/usr/bin/env bash
# Issue 11, time to accuracy: levers on the `best` preset (784-1024-10), 2 epochs on the full
# training split, one thread each, run folders in results/ablations/fast-<name>/. Each run
# differs from `best` only in the lines its sed expression changes (the table diffs the configs).
# `scripts/fast_levers.sh [NAME…]` runs only the named levers.
set -euo pipefail
cd "$(dirname "$0")/.."
fhn=${FHN:-target/release/fhn}
base=$(mktemp)
$fhn train --preset best --print-config >"$base"
sed -i 's/^epochs = 30/epochs = 2/' "$base"
declare -A levers=(
  [base]=''
  [free20]='s/^free_steps = 60/free_steps = 20/'
  [free20-nudge10]='s/^free_steps = 60/free_steps = 20/; s/^nudge_steps = 20/nudge_steps = 10/'
  [free12-nudge12]='s/^free_steps = 60/free_steps = 12/; s/^nudge_steps = 20/nudge_steps = 12/'
  [persistent-free20]='s/^free_steps = 60/free_steps = 20/; s/^free_start = "zero"/free_start = "persistent"/'
  [previous-free20]='s/^free_steps = 60/free_steps = 20/; s/^free_start = "zero"/free_start = "previous"/'
  [beta0.2]='s/^beta = 0.5/beta = 0.2/'
  [batch16]='s/^batch_size = 32/batch_size = 16/'
  [lr2x]='/^lrs = \[/,/^\]/c lrs = [0.4, 0.1]'
  [momentum]='s/^momentum = 0.0/momentum = 0.9/; s/^bias_lr = 0.01/bias_lr = 0.001/; /^lrs = \[/,/^\]/c lrs = [0.02, 0.005]'
  [redblack15]='s/^solver = "jacobi"/solver = "redblack"/; s/^free_steps = 60/free_steps = 15/; s/^nudge_steps = 20/nudge_steps = 15/; s/^eval_steps = 60/eval_steps = 30/'
)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(base free20 free20-nudge10 free12-nudge12 persistent-free20 previous-free20 beta0.2 batch16 lr2x momentum redblack15)
for name in "${names[@]}"; do
  cfg=$(mktemp --suffix .toml)
  sed -e "${levers[$name]}" "$base" >"$cfg"
  sed -i "s/^name = \"best\"/name = \"fast-$name\"/" "$cfg"
  rm -rf "results/ablations/fast-$name"
  $fhn train --config "$cfg" --threads 1 --out "results/ablations/fast-$name" >/dev/null
  rm -f "results/ablations/fast-$name"/{checkpoint,best,free_states}.safetensors
done
rm -f "$base"
