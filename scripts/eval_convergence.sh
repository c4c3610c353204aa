#!/usr/bin/env bash
# Does a logged test error depend on an unconverged evaluation? Re-evaluates committed
# checkpoints with the run's own evaluation steps and with 600 steps of the run's own solver
# (residual ~5e-5 on the deep runs), one JSON line each, to $OUT (default
# results/checks/eval_convergence.jsonl; issue 11). Shown by
# `python3 scripts/deep_tables.py eval_convergence`.
set -euo pipefail
cd "$(dirname "$0")/.."
fhn=${FHN:-target/release/fhn}
out=${OUT:-results/checks/eval_convergence.jsonl}
: >"$out"
for ck in ${CHECKPOINTS:-results/mnist/deep-s1/best.safetensors results/mnist/deep-s2/best.safetensors results/mnist/hopfield-1024-redblack-s1/best.safetensors}; do
  for steps in "" 600; do
    $fhn eval "$ck" --split test --threads "${THREADS:-1}" --json ${steps:+--steps $steps} \
      | python3 -c "import json, sys; print(json.dumps(json.load(sys.stdin)))" >>"$out"
  done
done
