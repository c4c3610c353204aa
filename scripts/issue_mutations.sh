#!/usr/bin/env bash
# The three hand-written mutations of issue 9 (each broke learning while all tests passed) and
# those of the red-black sweeps, of Adam, of the engine's weight decay, of the image shifts and of the nudge tolerance (issue 11): each applied alone to a scratch copy of HEAD, the
# library tests must fail. Writes results/testing/issue_mutations.txt and
# results/testing/{redblack,adam,engine_decay,shift,nudge_tolerance}_mutations.txt (scripts/mutations.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/mutations.sh scripts/mutations/issue9.tsv results/testing/issue_mutations.txt "Issue 9 mutations"
scripts/mutations.sh scripts/mutations/redblack.tsv results/testing/redblack_mutations.txt "Red-black sweep mutations (issue 11)"
scripts/mutations.sh scripts/mutations/adam.tsv results/testing/adam_mutations.txt "Adam mutations (issue 11)"
scripts/mutations.sh scripts/mutations/engine-decay.tsv results/testing/engine_decay_mutations.txt "Engine weight-decay mutations (issue 11)"
scripts/mutations.sh scripts/mutations/shift.tsv results/testing/shift_mutations.txt "Image-shift mutations (issue 11)"
scripts/mutations.sh scripts/mutations/nudge-tolerance.tsv results/testing/nudge_tolerance_mutations.txt "Nudge-tolerance mutations (issue 11)"
