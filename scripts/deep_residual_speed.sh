#!/usr/bin/env bash
# Issue 11, item 6 at trained weights: the free-phase residual grows with the weights, so the
# first images of an untrained network (scripts/deep_epoch_speed.sh) understate it. Each variant
# of the `deep` preset resumes the best checkpoint of deep-cosine-wd-40-s1 (epoch 39 of 40, the
# cosine rate ≈ 0, so the weights barely move) and trains its last epoch on the first 3 200
# images with 2 threads (evaluation on 500, not timed); runs interleave over 2 rounds. Every
# line of results/bench/deep_residual_speed.jsonl is the metrics line the tool wrote, plus the
# variant, round, steps and the epoch time implied for 50 000 images. Variants: the preset
# (100 / 35 steps), 130 / 45, and a tolerance (stop each phase of a shard once ‖∂Φ/∂s‖∞ ≤ tol)
# with at most 200 / 70 steps; and that tolerance on the free phase only (`nudge_tolerance = 0`:
# the nudged phases run all 35 steps). PAUSE="PID…" stops those processes for the duration.
set -euo pipefail
cd "$(dirname "$0")/.."
fhn=${FHN:-target/release/fhn}
ckpt=${CKPT:-results/mnist/deep-cosine-wd-40-s1/best.safetensors}
out=results/bench/deep_residual_speed.jsonl
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; if [ -n "${PAUSE:-}" ]; then kill -CONT $PAUSE; fi' EXIT
if [ -n "${PAUSE:-}" ]; then kill -STOP $PAUSE; fi
# The preset's version without shifted images (configs/deep-cosine-wd-40.toml), whose run gave
# the checkpoint and which the committed table measured.
grep -v '^#' configs/deep-cosine-wd-40.toml |
  sed 's/^train_limit = 0/train_limit = 3200/; s/^eval_limit = 0/eval_limit = 500/' >"$tmp/preset.toml"
steps() {
  sed "s/^free_steps = 100/free_steps = $1/; s/^nudge_steps = 35/nudge_steps = $2/; s/^tolerance = 0.0/tolerance = $3${4:+\nnudge_tolerance = $4}/" "$tmp/preset.toml"
}
steps 130 45 0.0 >"$tmp/130-45.toml"
steps 200 70 0.01 >"$tmp/tol1e-2.toml"
steps 200 70 0.005 >"$tmp/tol5e-3.toml"
steps 200 35 0.005 0.0 >"$tmp/free-tol5e-3.toml"
variants="preset 130-45 tol1e-2 tol5e-3 free-tol5e-3"
: >"$out"
for round in 1 2; do
  for variant in $variants; do
    run="$tmp/$variant-$round"
    mkdir -p "$run" && cp "$ckpt" "$run/checkpoint.safetensors"
    $fhn train --config "$tmp/$variant.toml" --threads 2 --out "$run" --resume >/dev/null
    python3 - "$run/metrics.jsonl" "$variant" "$round" "$tmp/$variant.toml" "$ckpt" >>"$out" <<'PY'
import json, sys, tomllib
m = json.loads(open(sys.argv[1]).read().splitlines()[-1])
t = tomllib.load(open(sys.argv[4], "rb"))["training"]
m.update(variant=sys.argv[2], round=int(sys.argv[3]), threads=2, checkpoint=sys.argv[5],
         steps=f"{t['solver']} dt {t['dt']}, {t['free_steps']} / {t['nudge_steps']}, tol {t['tolerance']}"
               + (f", nudge tol {t['nudge_tolerance']}" if "nudge_tolerance" in t else ""),
         seconds_per_50000=50000 / m["examples_per_second"])
print(json.dumps(m))
PY
  done
done
