#!/usr/bin/env bash
# Trains (or resumes) run folders on the GPU machine within a time budget, for sessions that
# hold a GPU for a few minutes: carry .gpu (the `cuda` binary as .gpu/fhn and any run folders
# to continue as .gpu/runs/NAME), then
#   OUT=<dir> bench/gpu/train.sh SECONDS PRESET:SEED [PRESET:SEED ...]
# Each run gets an equal share of SECONDS; every finished epoch is checkpointed, so a run cut
# by the budget resumes in the next call. Outputs: $OUT/NAME/{metrics.jsonl,checkpoint.safetensors,
# log.txt} (+ results.json, best.safetensors when finished); copy them back to .gpu/runs/NAME.
set -uo pipefail
OUT=${OUT:?set OUT}
budget=$1; shift
share=$((budget / $#))
log() { echo "== $(date +%T) $*" >>"$OUT/log.txt"; }
. "$(dirname "$0")/env.sh"
for spec in "$@"; do
  preset=${spec%%:*}; seed=${spec##*:}; name=$preset-s$seed
  dir=/tmp/runs/$name; mkdir -p /tmp/runs "$OUT/$name"
  resume=()
  if [ -d ".gpu/runs/$name" ]; then cp -r ".gpu/runs/$name" "$dir" && chmod -R u+w "$dir"; resume=(--resume); fi
  timeout "$share" .gpu/fhn train --preset "$preset" --seed "$seed" --device cuda --out "$dir" "${resume[@]}" >/dev/null 2>>"$OUT/log.txt"
  log "$name rc=$?"
  for f in metrics.jsonl checkpoint.safetensors log.txt results.json best.safetensors config.toml; do
    [ -f "$dir/$f" ] && cp "$dir/$f" "$OUT/$name/"
  done
done
