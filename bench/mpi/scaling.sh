#!/usr/bin/env bash
# Issue 15's measurements (docs/SCALING.md): the paper preset's training step on this machine as
# 1 process × 2 threads, 2 MPI processes × 1 thread and 1 × 1, at batch 32 and 128, in
# interleaved rounds (the second core is not always free: compare within a round); then the
# step's cost per example at local batches 8…128 on one thread, for the model. Writes
# results/scaling/steps.jsonl (one `fhn bench-step` report per line, with round and setup).
# Needs an fhn built with `--features mpi` (scripts/install_mpi.sh, then
# `cargo build --release --features mpi`).
set -euo pipefail
cd "$(dirname "$0")/../.."
FHN=${FHN:-target/release/fhn}
OUT=${OUT:-results/scaling}
ROUNDS=${ROUNDS:-3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p "$OUT"
log="$OUT/steps.jsonl"
: > "$log"
record() { # setup round -- command…
    local setup=$1 round=$2
    shift 3
    "$@" | python3 -c "import json,sys; d=json.load(sys.stdin); d.update(setup='$setup', round=$round); print(json.dumps(d))" >> "$log"
}
step() { echo --preset paper --batch "$1" --batches "$2" --reps 3 --warmup 1; }
for round in $(seq "$ROUNDS"); do
    for b in 32 128; do
        n=$((512 / b))
        record "1x2" "$round" -- "$FHN" bench-step $(step $b $n) --threads 2
        record "2x1" "$round" -- mpirun --oversubscribe -np 2 "$FHN" bench-step $(step $b $n) --threads 1
        record "1x1" "$round" -- "$FHN" bench-step $(step $b $n) --threads 1
    done
done
for b in 8 16 32 64 128; do
    record "local" 0 -- "$FHN" bench-step $(step $b $((256 / b))) --threads 1
done
echo "wrote $log"
