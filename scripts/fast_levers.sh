#!/usr/bin/env bash
# Issue 11, time to accuracy: levers on a preset (784-1024-10) over the full training split,
# one thread each. Each run differs from the preset only in the lines its sed expression changes
# (the table diffs the configs).
# - `scripts/fast_levers.sh [NAME…]`: on `best`, 2 epochs, results/ablations/fast-<name>/;
# - `SET=fast scripts/fast_levers.sh [NAME…]`: on `fast` (the levers above that paid), 4 epochs,
#   results/ablations/fast4-<name>/.
# With names, only the named levers run.
set -euo pipefail
cd "$(dirname "$0")/.."
fhn=${FHN:-target/release/fhn}
set=${SET:-best}
case $set in
  best) preset=best epochs=2 prefix=fast ;;
  fast) preset=fast epochs=4 prefix=fast4 ;;
  *) echo "SET must be best or fast" >&2; exit 2 ;;
esac
base=$(mktemp)
$fhn train --preset $preset --print-config >"$base"
sed -i "s/^epochs = 30/epochs = $epochs/" "$base"
declare -A best_levers=(
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
# On `fast` (momentum 0.9, rates [0.02, 0.005], 20 / 10 Jacobi steps at dt 0.5): the rates, the
# schedule over the 4 epochs, larger batches at proportionally larger rates, and Jacobi at dt 1.
declare -A fast_levers=(
  [base]=''
  [cosine]='s/^lr_schedule = "exponential"/lr_schedule = "cosine"/'
  [lr2x]='s/^bias_lr = 0.001/bias_lr = 0.002/; /^lrs = \[/,/^\]/c lrs = [0.04, 0.01]'
  [lr2x-cosine]='s/^bias_lr = 0.001/bias_lr = 0.002/; /^lrs = \[/,/^\]/c lrs = [0.04, 0.01]
s/^lr_schedule = "exponential"/lr_schedule = "cosine"/'
  [lr4x-cosine]='s/^bias_lr = 0.001/bias_lr = 0.004/; /^lrs = \[/,/^\]/c lrs = [0.08, 0.02]
s/^lr_schedule = "exponential"/lr_schedule = "cosine"/'
  [batch64-lr2x-cosine]='s/^batch_size = 32/batch_size = 64/; s/^bias_lr = 0.001/bias_lr = 0.002/; /^lrs = \[/,/^\]/c lrs = [0.04, 0.01]
s/^lr_schedule = "exponential"/lr_schedule = "cosine"/'
  [dt1]='s/^dt = 0.5/dt = 1.0/'
  [dt1-free10-nudge5]='s/^dt = 0.5/dt = 1.0/; s/^free_steps = 20/free_steps = 10/; s/^nudge_steps = 10/nudge_steps = 5/'
)
if [ $set = best ]; then
  all=(base free20 free20-nudge10 free12-nudge12 persistent-free20 previous-free20 beta0.2 batch16 lr2x momentum redblack15)
else
  all=(base cosine lr2x lr2x-cosine lr4x-cosine batch64-lr2x-cosine dt1 dt1-free10-nudge5)
fi
names=("$@")
[ ${#names[@]} -gt 0 ] || names=("${all[@]}")
for name in "${names[@]}"; do
  if [ $set = best ]; then expr=${best_levers[$name]}; else expr=${fast_levers[$name]}; fi
  cfg=$(mktemp --suffix .toml)
  sed -e "$expr" "$base" >"$cfg"
  sed -i "s/^name = \"$preset\"/name = \"$prefix-$name\"/" "$cfg"
  rm -rf "results/ablations/$prefix-$name"
  $fhn train --config "$cfg" --threads 1 --out "results/ablations/$prefix-$name" >/dev/null
  rm -f "results/ablations/$prefix-$name"/{checkpoint,best,free_states}.safetensors
done
rm -f "$base"
