#!/usr/bin/env bash
# Issue 11, item 6: training speed of the deep preset on this machine with 2 threads, of its
# first version (configs/deep-v1.toml) and of the preset with shorter phases. Each run trains on
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
# The preset (dt 1.0, 100 / 35; its version without shifted images, configs/deep-cosine-wd-40.toml,
# which the committed table measured: the shift changes the images, not a step's cost), its first
# version (configs/deep-v1.toml: dt 0.5, 150 / 50) and the preset with 75 / 25 steps.
grep -v '^#' configs/deep-cosine-wd-40.toml >"$tmp/deep.toml"
grep -v '^#' configs/deep-v1.toml >"$tmp/deep-v1.toml"
sed 's/^free_steps = 100/free_steps = 75/; s/^nudge_steps = 35/nudge_steps = 25/; s/^eval_steps = 100/eval_steps = 75/' "$tmp/deep.toml" >"$tmp/deep-75-25.toml"
for variant in deep deep-v1 deep-75-25; do
  sed -i 's/^train_limit = 0/train_limit = 3200/; s/^eval_limit = 0/eval_limit = 500/; s/^epochs = [0-9]*/epochs = 1/' "$tmp/$variant.toml"
done
: >"$out"
for round in 1 2; do
  for variant in deep deep-v1 deep-75-25; do
    $fhn train --config "$tmp/$variant.toml" --threads 2 --out "$tmp/$variant-$round" >/dev/null
    python3 - "$tmp/$variant-$round/metrics.jsonl" "$variant" "$round" "$tmp/$variant.toml" >>"$out" <<'PY'
import json, sys, tomllib
m = json.loads(open(sys.argv[1]).read().splitlines()[-1])
t = tomllib.load(open(sys.argv[4], "rb"))["training"]
m.update(variant=sys.argv[2], round=int(sys.argv[3]), threads=2,
         steps=f"{t['solver']} dt {t['dt']}, {t['free_steps']} / {t['nudge_steps']}",
         seconds_per_50000=50000 / m["examples_per_second"])
print(json.dumps(m))
PY
  done
done
