#!/usr/bin/env bash
# What the commits since BASE would weigh as a submission: the pack git would send
# (`pack-objects --revs` of BASE..HEAD) and the text size of their diffs. A submission over
# 512 MiB packed or 256 MiB of diffs is refused whole, and every 7.5 MB checkpoint committed
# again counts in full: commit run checkpoints once, at the end of a session, and never
# persistent free states (.gitignore). `scripts/submission_size.sh BASE` (default: origin's
# main if there is one, else the newest commit older than 12 hours).
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-$(git rev-parse -q --verify origin/main || git rev-list -1 --before='12 hours ago' HEAD)}
[ -n "$base" ] || { echo "no base commit: name one (scripts/submission_size.sh BASE)" >&2; exit 2; }
pack=$(printf 'HEAD\n^%s\n' "$base" | git pack-objects --revs -q --stdout | wc -c)
diffs=$(git log -p --binary --format= "$base..HEAD" | wc -c)
awk -v b="$(git rev-parse --short "$base")" -v n="$(git rev-list --count "$base..HEAD")" \
  -v p="$pack" -v d="$diffs" 'BEGIN { printf "since %s: %d commits, pack %.1f MiB (limit 512), diffs %.1f MiB (limit 256)\n", b, n, p / 1048576, d / 1048576 }'
if [ "$pack" -gt $((400 * 1048576)) ] || [ "$diffs" -gt $((200 * 1048576)) ]; then
  echo "warning: near the submission limits; squash or drop re-committed checkpoints" >&2
  exit 1
fi
