#!/usr/bin/env bash
# The one prepared run on a GPU machine (issue 14; device time is scarce): every measurement
# of the CUDA backend and every output file, in one call.
#   Build here:  cargo build --release --features cuda && mkdir -p .gpu && strip -o .gpu/fhn target/release/fhn
#   Run there:   OUT=<dir> bench/gpu/run.sh      (carry .gpu; writes at most 8 files under $OUT)
# Outputs: check.jsonl (CPU vs GPU agreement), speed.jsonl (ours and PyTorch eager, paper step,
# batch 32/128/1024), peak.jsonl (cuBLAS SGEMM, TF32 off/on), epochs.jsonl (one epoch of quick
# and paper on the GPU), deep/{metrics.jsonl,checkpoint.safetensors} (the deep preset trained
# for DEEP_SECONDS), nvidia-smi.txt, log.txt.
set -uo pipefail
OUT=${OUT:?set OUT}
BIN=${BIN:-.gpu/fhn}
DEEP_SECONDS=${DEEP_SECONDS:-240}
mkdir -p "$OUT/deep"
log() { echo "== $(date +%T) $*" >>"$OUT/log.txt"; }
run() { local t=$1; shift; log "$*"; timeout "$t" "$@" 2>>"$OUT/log.txt"; local rc=$?; log "rc=$rc"; return $rc; }

. "$(dirname "$0")/env.sh"
nvidia-smi >"$OUT/nvidia-smi.txt" 2>&1

# 1. Correctness: three steps from the same weights, CPU trainer vs GPU.
for p in paper quick deep; do
  run 120 "$BIN" bench-step --device cuda --check --preset "$p" --batches 3 | tr -d '\n ' >>"$OUT/check.jsonl"
  echo >>"$OUT/check.jsonl"
done

# 2. Speed of the paper step: ours and the PyTorch reference, same GPU, batch 32/128/1024.
"$BIN" train --preset paper --print-config >/tmp/paper.toml
for b in 32 128 1024; do
  run 120 "$BIN" bench-step --device cuda --preset paper --batch "$b" --batches 20 --reps 5 | tr -d '\n ' >>"$OUT/speed.jsonl"
  echo >>"$OUT/speed.jsonl"
  run 180 python3 bench/reference/fhn_torch.py bench --config /tmp/paper.toml --device cuda --batch "$b" --batches 20 --reps 5 >>"$OUT/speed.jsonl"
done

# 3. cuBLAS SGEMM peak, TF32 off then on.
run 60 "$BIN" bench-step --device cuda --gemm-peak | tr -d '\n ' >>"$OUT/peak.jsonl"; echo >>"$OUT/peak.jsonl"
FHN_CUDA_TF32=1 run 60 "$BIN" bench-step --device cuda --gemm-peak | tr -d '\n ' >>"$OUT/peak.jsonl"; echo >>"$OUT/peak.jsonl"

# 4. One epoch of quick and of paper (the deepest printed preset) on the GPU.
for p in quick paper; do
  run 180 "$BIN" train --preset "$p" --epochs 1 --device cuda --out "/tmp/epoch-$p" >/dev/null
  sed "s/^{/{\"preset\":\"$p\",/" "/tmp/epoch-$p/metrics.jsonl" >>"$OUT/epochs.jsonl"
done

# 5. The deep preset for DEEP_SECONDS (every finished epoch is checkpointed; resume anywhere).
run "$DEEP_SECONDS" "$BIN" train --preset deep --device cuda --out /tmp/deep >/dev/null
cp /tmp/deep/metrics.jsonl /tmp/deep/checkpoint.safetensors "$OUT/deep/" 2>>"$OUT/log.txt"
cat /tmp/deep/log.txt >>"$OUT/log.txt" 2>/dev/null
log done
