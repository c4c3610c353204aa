#!/usr/bin/env bash
# Reproduces results/hamiltonian/: forward recursion vs steady state at several depths, for
# the residual FHN network (δ = 0.5 and Table I's δ = 0.75) and the deep EBM.
set -euo pipefail
cd "$(dirname "$0")/.."
out=results/hamiltonian
fhn=./target/release/fhn
for d in 30 60 100 300; do
  $fhn hamiltonian fhn-resnet --width 64 --depth $d --out $out | tee $out/resnet_w64_d$d.txt
  $fhn hamiltonian ebm --width 64 --depth $d --out $out | tee $out/ebm_w64_d$d.txt
done
$fhn hamiltonian fhn-resnet --width 64 --depth 30 --delta 0.75 --out $out/table1 | tee $out/table1/resnet_w64_d30.txt
$fhn hamiltonian fhn-resnet --width 64 --depth 30 --coupling 0 --out $out/uncoupled | tee $out/uncoupled/resnet_w64_d30.txt
for c in 0.03 0.1 0.3; do ./target/release/fhn hamiltonian fhn-resnet --width 64 --depth 60 --delta 0.75 --coupling $c --out results/hamiltonian/coupling_sweep/c$c; done
