#!/usr/bin/env bash
# Training-step throughput with and without flushing subnormals (FTZ/DAZ), interleaved
# (without, with, without, …), one thread, batch 32: the paper preset, the quick preset and a
# 784-512-512-512-10 FHN net with our settings (results/bench/subnormals_deep3.toml).
# Usage: scripts/subnormals.sh BIN_WITHOUT BIN_WITH   (two builds of the same commit, the first
# with the `flush_subnormals()` call in src/train/shards.rs commented out)
# Writes results/bench/subnormals.jsonl and results/bench/subnormals.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
out=results/bench/subnormals
: > "$out.jsonl"
for case in "--preset paper" "--preset quick" "--config results/bench/subnormals_deep3.toml"; do
  for round in 1 2 3; do
    for side in without with; do
      bin="$1"; [ "$side" = with ] && bin="$2"
      $bin bench-step $case --batch 32 --threads 1 --batches 4 --reps 3 --warmup 1 |
        python3 -c "import json,sys; r=json.load(sys.stdin); r['side']='$side'; r['case']='$case'; print(json.dumps(r))" >> "$out.jsonl"
    done
  done
done
python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1] + ".jsonl")]
med = statistics.median
lines = ["case                                            without ex/s  with ex/s  with/without"]
for case in dict.fromkeys(r["case"] for r in rows):
    get = lambda s: med([med(r["examples_per_second"]) for r in rows if r["case"] == case and r["side"] == s])
    lines.append(f"{case:<48}{get('without'):12.1f} {get('with'):10.1f} {get('with') / get('without'):12.2f}")
text = "Subnormals flushed (FTZ/DAZ) or not; 1 thread, batch 32; medians of 3 interleaved rounds\n" + "\n".join(lines) + "\n"
open(sys.argv[1] + ".txt", "w").write(text)
print(text)
PY
