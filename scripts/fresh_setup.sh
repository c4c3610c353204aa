#!/usr/bin/env bash
# Times the README's two commands on a fresh clone (new target directory; crates already in
# ~/.cargo/registry are not downloaded again) and writes results/setup/fresh_clone.json.
# Usage: scripts/fresh_setup.sh [COMMIT]  (default HEAD)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
commit="$(git -C "$repo" rev-parse "${1:-HEAD}")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git clone -q "$repo" "$work/clone"
cd "$work/clone"
git checkout -q "$commit"
t() { local s; s=$(date +%s.%N); "$@" > "$work/log" 2>&1 || { tail -20 "$work/log"; exit 1; }; echo "$(date +%s.%N) - $s" | bc; }
build=$(t cargo build --release)                 # the compile part of the main command
test_total=$(t cargo test --release)             # the test command after it: compile + run
tests_run=$(grep -E "^test result" "$work/log" | awk '{s += $4} END {print s}')
load=$(cut -d' ' -f1 /proc/loadavg)
mkdir -p "$repo/results/setup"
cat > "$repo/results/setup/fresh_clone.json" <<JSON
{
  "commit": "$commit",
  "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "cores": $(nproc),
  "release_build_seconds": $build,
  "test_command_seconds": $test_total,
  "tests_passed": $tests_run,
  "load_average_at_end": $load
}
JSON
cat "$repo/results/setup/fresh_clone.json"
