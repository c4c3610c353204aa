#!/usr/bin/env bash
# Issue 11 levers on the first deep recipe (configs/deep-v1.toml, the `deep` preset until session
# 18), one epoch on the first 10 000 training images (evaluation on 2 000), one thread each, run
# folders in results/ablations/deep-<name>/. Each run differs from deep-v1 only in the fields its
# sed line changes.
set -euo pipefail
cd "$(dirname "$0")/.."
fhn=${FHN:-target/release/fhn}
base=$(mktemp)
grep -v '^#' configs/deep-v1.toml >"$base"
sed -i 's/^train_limit = 0/train_limit = 10000/; s/^eval_limit = 0/eval_limit = 2000/; s/^epochs = 30/epochs = 1/' "$base"
run() {
  local name=$1; shift
  local cfg=results/ablations/deep-$name.toml
  sed "$@" "$base" >"$cfg"
  sed -i "s/^name = \"deep-v1\"/name = \"deep-$name\"/" "$cfg"
  rm -rf "results/ablations/deep-$name"
  $fhn train --config "$cfg" --threads 1 --out "results/ablations/deep-$name" >/dev/null
  mv "$cfg" "results/ablations/deep-$name/"
}
# `scripts/deep_levers.sh NAME…` runs only the named levers.
want() { [ ${#only[@]} -eq 0 ] || [[ " ${only[*]} " == *" $1 "* ]]; }
only=("$@")
momentum='s/^momentum = 0.0/momentum = 0.9/; s/^bias_lr = 0.01/bias_lr = 0.001/; /^lrs = \[/,/^\]/c lrs = [0.02, 0.005, 0.00125, 0.0003125]'
want base && run base -e ''
want dt1 && run dt1 -e 's/^dt = 0.5/dt = 1.0/'
# dt 1.0 converges far below the residual goal (above), so it can afford fewer steps.
# `dt1 F N`: dt 1.0 with F free (and evaluation) / N nudge steps.
dt1() { if want "dt1-$1-$2"; then run "dt1-$1-$2" -e "s/^dt = 0.5/dt = 1.0/; s/^free_steps = 150/free_steps = $1/; s/^nudge_steps = 50/nudge_steps = $2/; s/^eval_steps = 150/eval_steps = $1/"; fi; }
dt1 75 25
dt1 100 35
dt1 50 20
want redblack && run redblack -e 's/^solver = "jacobi"/solver = "redblack"/; s/^free_steps = 150/free_steps = 40/; s/^nudge_steps = 50/nudge_steps = 15/; s/^eval_steps = 150/eval_steps = 40/'
# The two levers of the `fast` preset (docs/TRAINING.md, time to accuracy) on the deep network.
want momentum && run momentum -e "$momentum"
want momentum-60-25 && run momentum-60-25 -e 's/^free_steps = 150/free_steps = 60/; s/^nudge_steps = 50/nudge_steps = 25/' -e "$momentum"
# Per-layer learning rates (issue 11, item 4). The preset's rates fall 4× per layer toward the
# output, so the hidden-to-hidden layers barely move (deep-s1: weight norms 22.6 → 22.7 in 30
# epochs, update/weight ratios 10× below the first layer's). `lrs NAME A B C D` runs the dt-1.0
# 100/35 lever with learning rates A…D (input → output).
lrs() { if want "$1"; then run "$1" -e "s/^dt = 0.5/dt = 1.0/; s/^free_steps = 150/free_steps = 100/; s/^nudge_steps = 50/nudge_steps = 35/; s/^eval_steps = 150/eval_steps = 100/" -e "/^lrs = \[/,/^\]/c lrs = [$2, $3, $4, $5]"; fi; }
lrs lr-flat 0.2 0.2 0.2 0.05
lrs lr-flat-half 0.1 0.1 0.1 0.025
lrs lr-halving 0.2 0.1 0.05 0.025
lrs lr-flat-out 0.2 0.2 0.2 0.2
# Initialisation and input gains (issue 11, item 4), on the dt-1.0 100/35 lever: the hidden-to-
# hidden weights hardly move in training (their norms stay at the initial √512 ≈ 22.6), so their
# initial size may decide what those layers compute. `gain NAME SED` runs that lever with SED.
gain() { if want "$1"; then run "$1" -e "s/^dt = 0.5/dt = 1.0/; s/^free_steps = 150/free_steps = 100/; s/^nudge_steps = 50/nudge_steps = 35/; s/^eval_steps = 150/eval_steps = 100/" -e "$2"; fi; }
gain init0.5 's/^scale = 1.0/scale = 0.5/'
gain init2 's/^scale = 1.0/scale = 2.0/'
gain input6 's/^input_scale = 12.0/input_scale = 6.0/'
gain input24 's/^input_scale = 12.0/input_scale = 24.0/'
gain input3 's/^input_scale = 12.0/input_scale = 3.0/'
gain input48 's/^input_scale = 12.0/input_scale = 48.0/'
# The leak sets each unit's linear stiffness (u³ + c u = I with c ≈ leak + d_u·diag − 1 + 1/α):
# a smaller leak makes the units more nonlinear at the same input (session 17).
gain leak1.5 's/^leak = 2.0/leak = 1.5/'
gain leak1 's/^leak = 2.0/leak = 1.0/'
# Adam (AdamW, `training.optimizer = "adam"`; issue 11, item 4) on the dt-1.0 100/35 lever:
# it normalises each weight's step, so every layer moves at its own rate whatever the size of
# its gradient. `adam NAME A B C D BIAS` runs it with learning rates A…D and bias rate BIAS.
adam() { if want "$1"; then run "$1" -e "s/^dt = 0.5/dt = 1.0/; s/^free_steps = 150/free_steps = 100/; s/^nudge_steps = 50/nudge_steps = 35/; s/^eval_steps = 150/eval_steps = 100/" -e "s/^optimizer = \"heavy-ball\"/optimizer = \"adam\"/; s/^bias_lr = 0.01/bias_lr = $6/" -e "/^lrs = \[/,/^\]/c lrs = [$2, $3, $4, $5]"; fi; }
adam adam-1e-3 0.001 0.001 0.001 0.001 0.001
adam adam-3e-4 0.0003 0.0003 0.0003 0.0003 0.0003
adam adam-1e-4 0.0001 0.0001 0.0001 0.0001 0.0001
adam adam-falling 0.001 0.00025 0.0000625 0.000015625 0.001
