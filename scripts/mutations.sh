#!/usr/bin/env bash
# Hand-written mutations: each line of LIST (tab-separated: name, file, text, replacement) is
# applied alone to a scratch worktree of HEAD, and `cargo test --release --lib` must fail.
# Builds in the repository's target directory (compiled dependencies reused). Writes OUT.
# `scripts/mutations.sh LIST OUT "HEADER"` (scripts/issue_mutations.sh, scripts/mutations/*.tsv).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
list="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
out="$repo/$2"
work="$(mktemp -d)"
trap 'git -C "$repo" worktree remove --force "$work/tree" >/dev/null 2>&1; rm -rf "$work"' EXIT
git -C "$repo" worktree add --detach "$work/tree" HEAD >/dev/null
cd "$work/tree"
mkdir -p "$(dirname "$out")"
echo "$3 against $(git rev-parse --short HEAD) (cargo test --release --lib)" > "$out"
CARGO_TARGET_DIR="$repo/target" cargo test --release --lib > "$work/log" 2>&1 || { echo "baseline fails" >> "$out"; exit 1; }
while IFS=$'\t' read -r name file from to; do
  [ -n "$name" ] && [ "${name:0:1}" != "#" ] || continue
  git checkout -q -- .
  grep -qF -- "$from" "$file" || { echo "$name: pattern not found in $file" >> "$out"; continue; }
  python3 - "$file" "$from" "$to" <<'PY'
import sys; p, a, b = sys.argv[1:]; s = open(p).read(); open(p, "w").write(s.replace(a, b, 1))
PY
  if CARGO_TARGET_DIR="$repo/target" cargo test --release --lib > "$work/log" 2>&1; then
    echo "$name: MISSED (all tests pass)" >> "$out"
  else
    failed=$(grep -E "^    [a-z0-9_:]+$" "$work/log" | tr -d ' ' | paste -sd ' ')
    echo "$name: caught by $failed" >> "$out"
  fi
done < "$list"
cat "$out"
