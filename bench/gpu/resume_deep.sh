#!/usr/bin/env bash
# Second GPU call: resume the deep run carried in .gpu/deep-s1 to its 30 epochs (or SECONDS_MAX)
# and return the run folder's files under $OUT. deep-s1 is the `deep` preset's first version,
# configs/deep-v1.toml.
set -uo pipefail
OUT=${OUT:?set OUT}
log() { echo "== $(date +%T) $*" >>"$OUT/log.txt"; }
. "$(dirname "$0")/env.sh"
cp -r .gpu/deep-s1 /tmp/deep && chmod -R u+w /tmp/deep
timeout "${SECONDS_MAX:-420}" .gpu/fhn train --config configs/deep-v1.toml --device cuda --out /tmp/deep --resume --epochs 30 2>>"$OUT/log.txt" >/dev/null
log "train rc=$?"
cp /tmp/deep/metrics.jsonl /tmp/deep/checkpoint.safetensors /tmp/deep/best.safetensors /tmp/deep/results.json /tmp/deep/curves.png /tmp/deep/config.toml "$OUT/" 2>>"$OUT/log.txt"
