#!/usr/bin/env bash
# Does a logged test error depend on an unconverged evaluation? Re-evaluates committed deep
# checkpoints with the run's own evaluation steps and with 600 Jacobi steps (residual ~1e-5),
# one JSON line each, to results/checks/eval_convergence.jsonl (issue 11). Shown by
# `python3 scripts/deep_tables.py eval_convergence`.
set -euo pipefail
cd "$(dirname "$0")/.."
fhn=${FHN:-target/release/fhn}
out=results/checks/eval_convergence.jsonl
: >"$out"
for ck in ${CHECKPOINTS:-results/mnist/deep-s1/best.safetensors results/mnist/deep-s2/best.safetensors}; do
  for steps in "" 600; do
    $fhn eval "$ck" --split test --threads "${THREADS:-1}" --json ${steps:+--steps $steps} \
      | python3 -c "import json, sys; print(json.dumps(json.load(sys.stdin)))" >>"$out"
  done
done
