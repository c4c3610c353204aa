#!/usr/bin/env bash
# The echo's verification study at three coupling strengths (docs/HAMILTONIAN.md §8.3).
# Usage: scripts/echo_study.sh [OUT] (default results/hamiltonian/echo)
set -euo pipefail
out=${1:-results/hamiltonian/echo}
fhn=${FHN:-target/release/fhn}
mkdir -p "$out"
for c in 0 0.3 1; do
  $fhn hamiltonian echo --width 16 --coupling "$c" --max-depth 60 --out "$out" > "$out/echo_w16_c$c.txt"
done
