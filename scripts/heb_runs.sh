#!/usr/bin/env bash
# Trains the residual FHN network (width 64) on MNIST with Hamiltonian Echo Backpropagation
# and, on the same network and seed, with the explicit adjoint (backpropagation) as the control.
# A run whose orbits escape stops with the error in its log; the others go on.
# Usage: scripts/heb_runs.sh [OUT] (default results/hamiltonian/echo-train)
set -uo pipefail
out=${1:-results/hamiltonian/echo-train}
fhn=${FHN:-target/release/fhn}
for depth in 12 20; do
  for est in echo adjoint; do
    mkdir -p "$out/d${depth}-$est"
    probe=0; [ "$est" = echo ] && probe=2
    $fhn hamiltonian echo-train --width 64 --depth "$depth" --epochs "${EPOCHS:-10}" \
      --coupling-bound 0.1 --steady-probe "$probe" \
      --estimator "$est" --out "$out/d${depth}-$est" 2>&1 | tee "$out/d${depth}-$est/log.txt"
  done
done
