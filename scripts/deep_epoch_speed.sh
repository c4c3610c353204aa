#!/usr/bin/env bash
# Issue 11, item 6: training speed of the deep preset on this machine with 2 threads, and of
# its dt-1.0 variants with shorter phases (scripts/deep_levers.sh dt1-100-35 dt1-75-25). Each run trains on
# the first 3 200 images (one epoch, evaluation on 500); runs are interleaved over 2 rounds and
# every line of results/bench/deep_epoch_speed.jsonl is a metrics line the tool wrote, plus the
# variant, round and the epoch time implied for 50 000 images. PAUSE="PID…" stops those processes
# (e.g. background training runs) for the duration, so the two cores are free.
set -euo pipefail
cd "$(dirname "$0")/.."
fhn=${FHN:-target/release/fhn}
out=results/bench/deep_epoch_speed.jsonl
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; if [ -n "${PAUSE:-}" ]; then kill -CONT $PAUSE; fi' EXIT
if [ -n "${PAUSE:-}" ]; then kill -STOP $PAUSE; fi  # one PID or several
$fhn train --preset deep --print-config >"$tmp/deep.toml"
sed -i 's/^train_limit = 0/train_limit = 3200/; s/^eval_limit = 0/eval_limit = 500/; s/^epochs = 30/epochs = 1/' "$tmp/deep.toml"
# dt 1.0 with F free / N nudge steps (the levers dt1-F-N of scripts/deep_levers.sh).
for steps in 100-35 75-25; do
  f=${steps%-*} n=${steps#*-}
  sed "s/^dt = 0.5/dt = 1.0/; s/^free_steps = 150/free_steps = $f/; s/^nudge_steps = 50/nudge_steps = $n/; s/^eval_steps = 150/eval_steps = $f/" "$tmp/deep.toml" >"$tmp/dt1-$steps.toml"
done
: >"$out"
for round in 1 2; do
  for variant in deep dt1-100-35 dt1-75-25; do
    $fhn train --config "$tmp/$variant.toml" --threads 2 --out "$tmp/$variant-$round" >/dev/null
    python3 - "$tmp/$variant-$round/metrics.jsonl" "$variant" "$round" >>"$out" <<'PY'
import json, sys
m = json.loads(open(sys.argv[1]).read().splitlines()[-1])
m.update(variant=sys.argv[2], round=int(sys.argv[3]), threads=2,
         seconds_per_50000=50000 / m["examples_per_second"])
print(json.dumps(m))
PY
  done
done
