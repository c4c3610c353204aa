#!/usr/bin/env bash
# Trains (or resumes) run folders on the GPU machine within a time budget, for sessions that
# hold a GPU for a few minutes: carry .gpu (the `cuda` binary as .gpu/fhn and any run folders
# to continue as .gpu/runs/NAME), then
#   OUT=<dir> bench/gpu/train.sh SECONDS PRESET:SEED [PRESET:SEED ...]
# Each run gets an equal share of SECONDS; every finished epoch is checkpointed, so a run cut
# by the budget resumes in the next call. Output: one $OUT/NAME.tar per run (config.toml,
# metrics.jsonl, checkpoint.safetensors, log.txt, curves.png, results.json when finished; about
# 8 MB for the deep preset: at most 8 runs per call); unpack it into .gpu/runs/NAME.
set -uo pipefail
OUT=${OUT:?set OUT}
budget=$1; shift
share=$((budget / $#))
log() { echo "== $(date +%T) $*" >&2; }
. "$(dirname "$0")/env.sh"
for spec in "$@"; do
  preset=${spec%%:*}; seed=${spec##*:}; name=$preset-s$seed
  dir=/tmp/runs/$name; mkdir -p /tmp/runs
  resume=()
  if [ -d ".gpu/runs/$name" ]; then cp -r ".gpu/runs/$name" "$dir" && chmod -R u+w "$dir"; resume=(--resume); fi
  timeout "$share" .gpu/fhn train --preset "$preset" --seed "$seed" --device cuda --out "$dir" "${resume[@]}" >/dev/null 2>&1
  log "$name rc=$? $(grep -c . "$dir/metrics.jsonl" 2>/dev/null) epochs"
  files=$(cd "$dir" && ls config.toml metrics.jsonl checkpoint.safetensors log.txt curves.png results.json 2>/dev/null)
  tar -C "$dir" -cf "$OUT/$name.tar" $files
done
