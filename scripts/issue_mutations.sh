#!/usr/bin/env bash
# The three hand-written mutations of issue 9 (each broke learning while all tests passed):
# each is applied to a scratch copy of HEAD and the library tests must fail.
# Builds in the repository's target directory (compiled dependencies reused).
# Writes results/testing/issue_mutations.txt.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'git -C "$repo" worktree remove --force "$work/tree" >/dev/null 2>&1; rm -rf "$work"' EXIT
git -C "$repo" worktree add --detach "$work/tree" HEAD >/dev/null
cd "$work/tree"
out="$repo/results/testing/issue_mutations.txt"
mkdir -p "$(dirname "$out")"
echo "Issue 9 mutations against $(git rev-parse --short HEAD) (cargo test --release --lib)" > "$out"
run() {  # name file from to
  git checkout -q -- .
  grep -qF -- "$3" "$2" || { echo "$1: pattern not found in $2" >> "$out"; return; }
  python3 - "$2" "$3" "$4" <<'PY'
import sys; p, a, b = sys.argv[1:]; s = open(p).read(); open(p, "w").write(s.replace(a, b, 1))
PY
  if CARGO_TARGET_DIR="$repo/target" cargo test --release --lib > "$work/log" 2>&1; then
    echo "$1: MISSED (all tests pass)" >> "$out"
  else
    failed=$(grep -E "^    [a-z0-9_:]+$" "$work/log" | tr -d ' ' | paste -sd ' ')
    echo "$1: caught by $failed" >> "$out"
  fi
}
CARGO_TARGET_DIR="$repo/target" cargo test --release --lib > "$work/log" 2>&1 || { echo "baseline fails" >> "$out"; exit 1; }
run "flipped update sign" src/train/optim.rs "mu * *mx - lr * gx" "mu * *mx + lr * gx"
run "centered estimate without its 1/2" src/train/shards.rs "if t.centered { 2.0 } else { 1.0 }" "if t.centered { 1.0 } else { 1.0 }"
run "weights saved in place of the momentum" src/train/checkpoint.rs "mat_bytes(&c.momentum.w[l])" "mat_bytes(w)"
cat "$out"
