#!/usr/bin/env bash
# The same residual FHN network (width 16, depth 6, fixed random encoding, 5 000 training
# images, first 1 000 validation/test images) trained three ways: Hamiltonian Echo
# Backpropagation, the explicit adjoint, and EqProp on the network's steady state.
# Usage: scripts/heb_vs_eqprop.sh [OUT] (default results/hamiltonian/echo-vs-eqprop)
set -uo pipefail
out=${1:-results/hamiltonian/echo-vs-eqprop}
fhn=${FHN:-target/release/fhn}
for est in echo adjoint eqprop-steady; do
  mkdir -p "$out/w16-d6-$est"
  $fhn hamiltonian echo-train --width 16 --depth 6 --epochs "${EPOCHS:-5}" --train-limit 5000 \
    --eval-limit 1000 --lr-in 0 --estimator "$est" --out "$out/w16-d6-$est" 2>&1 | tee "$out/w16-d6-$est/log.txt"
done
