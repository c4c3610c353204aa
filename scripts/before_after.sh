#!/usr/bin/env bash
# Training-step throughput of an older commit against the working tree, interleaved
# (old, new, old, new, …), paper preset, batch 1/32/128, threads 1/2, 3 rounds each.
# Usage: scripts/before_after.sh COMMIT|OLD_BINARY [OUT]   (it must have `fhn bench-step`)
# CONFIG=FILE times that configuration instead of the paper preset (both binaries must read it).
# A binary already built from the old commit saves the worktree build (minutes on 2 cores).
# Writes OUT.jsonl (every run) and OUT.txt (medians, ratio new/old).
set -euo pipefail
commit="$1"
out="${2:-results/bench/before_after}"
cd "$(dirname "$0")/.."
if [ -x "$commit" ] && [ -f "$commit" ]; then
  old_bin="$(realpath "$commit")"
else
  wt="$(mktemp -d)/old"
  git worktree add --detach "$wt" "$commit" >/dev/null
  trap 'git worktree remove --force "$wt"' EXIT
  (cd "$wt" && cargo build --release --quiet)
  old_bin="$wt/target/release/fhn"
fi
cargo build --release --quiet
what="--preset paper"; [ -n "${CONFIG:-}" ] && what="--config $CONFIG"
: > "$out.jsonl"
for threads in 1 2; do
  for batch in 1 32 128; do
    per=$(( 64 / batch > 2 ? 64 / batch : 2 ))
    for round in 1 2 3; do
      for side in old new; do
        bin=target/release/fhn; [ "$side" = old ] && bin="$old_bin"
        "$bin" bench-step $what --batch "$batch" --threads "$threads" \
          --batches "$per" --reps 3 --warmup 1 |
          python3 -c "import json,sys; r=json.load(sys.stdin); r['side']='$side'; r['commit']='$commit'; print(json.dumps(r))" >> "$out.jsonl"
      done
    done
  done
done
python3 - "$out" "$what" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1] + ".jsonl")]
med = lambda xs: statistics.median(xs)
lines = ["threads batch   old ex/s   new ex/s  new/old"]
for t in (1, 2):
    for b in (1, 32, 128):
        get = lambda s: [med(r["examples_per_second"]) for r in rows
                         if r["threads"] == t and r["batch"] == b and r["side"] == s]
        o, n = get("old"), get("new")
        lines.append(f"{t:>7} {b:>5} {med(o):10.1f} {med(n):10.1f} {med(n)/med(o):8.2f}")
text = f"old = {rows[0]['commit']}, new = working tree; bench-step {sys.argv[2]}; medians of 3 interleaved rounds\n" + "\n".join(lines) + "\n"
open(sys.argv[1] + ".txt", "w").write(text)
print(text)
PY
