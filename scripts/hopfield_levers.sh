#!/usr/bin/env bash
# Issue 11 (Hopfield baseline ≤ 1.8 %): levers on configs/hopfield-1024-momentum.toml
# (784-1024-10, Euler 20/4 steps, momentum 0.9, cosine schedule), 5 epochs (the cosine over 5)
# on the full training split, one thread each, run folders in results/ablations/hopfield-<name>/.
# Each adds its sed lines to the previous lever's, toward configs/hopfield-1024-redblack.toml;
# the table (`python3 scripts/deep_tables.py hopfield_levers`) diffs each config against
# hopfield-base's. `scripts/hopfield_levers.sh [NAME…]` runs only the named levers.
set -euo pipefail
cd "$(dirname "$0")/.."
fhn=${FHN:-target/release/fhn}
base=$(mktemp)
trap 'rm -f "$base"' EXIT
$fhn train --config configs/hopfield-1024-momentum.toml --print-config >"$base"
sed -i 's/^epochs = 30/epochs = 5/' "$base"
redblack='s/^solver = "euler"/solver = "redblack"/; s/^free_steps = 20/free_steps = 15/; s/^nudge_steps = 4/nudge_steps = 8/; s/^eval_steps = 20/eval_steps = 15/'
lr4='/^lrs = \[/,/^\]/c lrs = [0.04, 0.02]
s/^bias_lr = 0.005/bias_lr = 0.02/'
names=(base redblack redblack-lr4 redblack-lr4-wd)
declare -A levers=(
  [base]=''
  [redblack]="$redblack"
  [redblack-lr4]="$redblack
$lr4"
  [redblack-lr4-wd]="$redblack
$lr4
s/^weight_decay = 0.0$/weight_decay = 0.0001/"
)
[ $# -eq 0 ] || names=("$@")
prev=$base
for name in "${names[@]}"; do
  [ -n "${levers[$name]+set}" ] || { echo "unknown lever '$name' (${!levers[*]})" >&2; exit 2; }
  cfg=$(mktemp --suffix .toml)
  trap 'rm -f "$base" "$cfg"' EXIT
  sed -e "${levers[$name]}" "$base" >"$cfg"
  # Each lever adds lines to the one before it: a sed line that matches nothing is an error.
  if [ "$name" != base ] && cmp -s "$cfg" "$prev"; then
    echo "lever $name changed nothing" >&2; exit 1
  fi
  prev_copy=$(mktemp --suffix .toml); cp "$cfg" "$prev_copy"
  [ "$prev" = "$base" ] || rm -f "$prev"
  prev=$prev_copy
  sed -i "s/^name = \"hopfield-1024-momentum\"/name = \"hopfield-$name\"/" "$cfg"
  rm -rf "results/ablations/hopfield-$name"
  $fhn train --config "$cfg" --threads 1 --out "results/ablations/hopfield-$name" >/dev/null
  rm -f "results/ablations/hopfield-$name"/{checkpoint,best,free_states}.safetensors "$cfg"
done
[ "$prev" = "$base" ] || rm -f "$prev"
