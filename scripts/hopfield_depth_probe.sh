#!/usr/bin/env bash
# Issue 11, item 2: why the Hopfield recipe (configs/hopfield-1024-redblack.toml) does not carry
# over to two hidden layers. Probes of 784-512-512-10 (red-black 20 / 10 sweeps, as the
# hopfield-2 variant of configs/sweeps/depth-short.toml), one epoch on the first 10 000
# training images, evaluation on 2 000, one thread each; run folders in
# results/ablations/hopfield2-<name>/ (`python3 scripts/deep_tables.py hopfield_depth_probe`).
# Every run ends with the gradient-quality probe on its first 32 training images (the EqProp
# estimate against the exact active-set gradient); `implicit*` runs train on the exact gradient.
# `scripts/hopfield_depth_probe.sh [NAME…]` runs only the named probes.
set -euo pipefail
cd "$(dirname "$0")/.."
fhn=${FHN:-target/release/fhn}
base=$(mktemp)
trap 'rm -f "$base"' EXIT
$fhn train --config configs/hopfield-1024-redblack.toml --print-config >"$base"
sed -i -e '/^widths = \[/,/^\]/c widths = [784, 512, 512, 10]' \
  -e 's/^train_limit = 0/train_limit = 10000/; s/^eval_limit = 0/eval_limit = 2000/; s/^epochs = 30/epochs = 1/' \
  -e 's/^free_steps = 15/free_steps = 20/; s/^nudge_steps = 8/nudge_steps = 10/; s/^eval_steps = 15/eval_steps = 20/' \
  -e 's/^probe_examples = 0/probe_examples = 32/' "$base"
lrs() { echo "/^lrs = \[/,/^\]/c lrs = [$1]"; }
# base: the sweep's hopfield-2 rates (4× fall from 0.02); recipe: the 1-hidden recipe's halving
# rates from 0.04; one-hidden: the base's rates on 784-512-10 (the sweep's hopfield-1).
fall4=$(lrs '0.02, 0.005, 0.00125')
declare -A probes=(
  [base]="$fall4"
  [recipe]="$(lrs '0.04, 0.02, 0.01')"
  [recipe-nomomentum]="$(lrs '0.04, 0.02, 0.01')
s/^momentum = 0.9/momentum = 0.0/"
  [beta0.5]="$fall4
s/^beta = 1.0/beta = 0.5/"
  [bias0.002]="$fall4
s/^bias_lr = 0.02/bias_lr = 0.002/"
  [gain2]="$fall4
s/^scale = 1.0/scale = 2.0/"
  [gain0.4]="$fall4
s/^scale = 1.0/scale = 0.4/"
  [gain0.4-implicit]="$fall4
s/^scale = 1.0/scale = 0.4/
s/^estimator = \"eqprop\"/estimator = \"implicit\"/"
  [gain0.4-recipe-nomomentum]="$(lrs '0.04, 0.02, 0.01')
s/^momentum = 0.9/momentum = 0.0/
s/^scale = 1.0/scale = 0.4/"
  [gain0.4-beta0.5]="$fall4
s/^scale = 1.0/scale = 0.4/
s/^beta = 1.0/beta = 0.5/"
  [gain0.4-beta0.2]="$fall4
s/^scale = 1.0/scale = 0.4/
s/^beta = 1.0/beta = 0.2/"
  [lr10]="$(lrs '0.004, 0.002, 0.001')"
  [sweeps60]="$fall4
s/^free_steps = 20/free_steps = 60/; s/^nudge_steps = 10/nudge_steps = 30/; s/^eval_steps = 20/eval_steps = 60/"
  [implicit]="$fall4
s/^estimator = \"eqprop\"/estimator = \"implicit\"/"
  [implicit-recipe]="$(lrs '0.04, 0.02, 0.01')
s/^estimator = \"eqprop\"/estimator = \"implicit\"/"
  [implicit-one-hidden]="$(lrs '0.02, 0.005')
/^widths = \[/c widths = [784, 512, 10]
s/^free_steps = 20/free_steps = 15/; s/^nudge_steps = 10/nudge_steps = 8/; s/^eval_steps = 20/eval_steps = 15/
s/^estimator = \"eqprop\"/estimator = \"implicit\"/"
  [one-hidden]="$(lrs '0.02, 0.005')
/^widths = \[/c widths = [784, 512, 10]
s/^free_steps = 20/free_steps = 15/; s/^nudge_steps = 10/nudge_steps = 8/; s/^eval_steps = 20/eval_steps = 15/"
)
names=(base recipe recipe-nomomentum beta0.5 bias0.002 gain2 lr10 sweeps60 one-hidden implicit implicit-recipe implicit-one-hidden gain0.4 gain0.4-implicit gain0.4-recipe-nomomentum gain0.4-beta0.5 gain0.4-beta0.2)
[ $# -eq 0 ] || names=("$@")
for name in "${names[@]}"; do
  [ -n "${probes[$name]+set}" ] || { echo "unknown probe '$name' (${!probes[*]})" >&2; exit 2; }
  cfg=$(mktemp --suffix .toml)
  sed -e "${probes[$name]}" "$base" >"$cfg"
  if cmp -s "$cfg" "$base"; then echo "probe $name changed nothing" >&2; exit 1; fi
  sed -i "s/^name = \"hopfield-1024-redblack\"/name = \"hopfield2-$name\"/" "$cfg"
  rm -rf "results/ablations/hopfield2-$name"
  $fhn train --config "$cfg" --threads 1 --out "results/ablations/hopfield2-$name" >/dev/null
  rm -f "results/ablations/hopfield2-$name"/{checkpoint,best,free_states}.safetensors "$cfg"
done
