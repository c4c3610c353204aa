#!/usr/bin/env bash
# Trains the residual FHN network (width 64) on MNIST with Hamiltonian Echo Backpropagation
# and, on the same network and seed, with the explicit adjoint (backpropagation) as the control.
# Depth 12 with learning rate 0.003 (couplings and encoding); depth 20 with 0.001 and the input
# drive saturated at 0.3 (at 0.003, or at 0.001 with saturation 0.5, its orbits escape in epoch 2:
# results/hamiltonian/echo-train-escaped-d20-*). A run whose orbits escape stops with the error
# in its log; its results.json and curves.png cover the epochs that ran.
# Usage: [DEPTHS="12 20"] [EPOCHS=10] scripts/heb_runs.sh [OUT] (default results/hamiltonian/echo-train)
set -uo pipefail
out=${1:-results/hamiltonian/echo-train}
fhn=${FHN:-target/release/fhn}
for depth in ${DEPTHS:-12 20}; do
  lr=0.003; bound=0.5; [ "$depth" -ge 20 ] && lr=0.001 && bound=0.3
  for est in echo adjoint; do
    probe=0; [ "$est" = echo ] && probe=2
    mkdir -p "$out/d${depth}-$est"
    $fhn hamiltonian echo-train --width 64 --depth "$depth" --epochs "${EPOCHS:-10}" \
      --lr "$lr" --lr-in "$lr" --input-bound "$bound" --coupling-bound 0.1 --steady-probe "$probe" \
      --estimator "$est" --out "$out/d${depth}-$est" 2>&1 | tee "$out/d${depth}-$est/log.txt"
  done
done
