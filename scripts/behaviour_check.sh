#!/usr/bin/env bash
# Behaviour fingerprint of a `fhn` binary: short training runs of every preset family (FHN
# Euler/Jacobi/Anderson/red-black, the gradient probe, Hopfield, the backend engine on the
# host; not the Newton solver, too slow at MNIST size, nor coupled inhibitors, which diverge
# on MNIST with signed conductances; the unit tests cover both), 1 thread, with
# every metric except wall-clock fields and the SHA-256 of each checkpoint's tensors.
# Two binaries are behaviour-identical when their fingerprints are equal (issue 10 item 5).
# Usage: scripts/behaviour_check.sh BIN OUT.txt   (FULL=1 adds the whole `quick` preset, ~2 min)
set -euo pipefail
bin="$(realpath "$1")"; out="$2"
cd "$(dirname "$0")/.."
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
run() { # name preset device edits...
  local name="$1" preset="$2" device="$3"; shift 3
  "$bin" train --preset "$preset" --print-config > "$work/$name.toml"
  python3 - "$work/$name.toml" "$@" <<'PY'
import re, sys
path, edits = sys.argv[1], sys.argv[2:]
text = open(path).read()
for e in edits:
    key, value = e.split("=", 1)
    text, n = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
    assert n == 1, (key, n)
open(path, "w").write(text)
PY
  "$bin" train --config "$work/$name.toml" --out "$work/$name" --threads 1 --device "$device" >/dev/null 2>&1
  python3 - "$work/$name" "$name" <<'PY'
import hashlib, json, sys
from pathlib import Path
run, name = Path(sys.argv[1]), sys.argv[2]
for line in (run / "metrics.jsonl").read_text().splitlines():
    m = json.loads(line)
    for k in ("train_seconds", "examples_per_second"):
        m.pop(k, None)
    print(name, json.dumps(m, sort_keys=True))
for ck in ("checkpoint.safetensors", "best.safetensors"):
    raw = (run / ck).read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    print(name, ck, hashlib.sha256(raw[8 + n:]).hexdigest(), hashlib.sha256(json.dumps(header, sort_keys=True).encode()).hexdigest())
PY
}
{
  run tiny tiny cpu
  run probe tiny cpu train_limit=300 eval_limit=100 probe_examples=2
  run quick quick cpu train_limit=3000 eval_limit=1000 epochs=2
  run quick-host quick host train_limit=1000 eval_limit=500 epochs=1
  run anderson quick cpu train_limit=1000 eval_limit=500 epochs=1 solver='"anderson"' tolerance=1e-3
  run hopfield hopfield cpu train_limit=2000 eval_limit=500 epochs=1
  run deep deep cpu train_limit=300 eval_limit=200 epochs=1
  run redblack paper-converged cpu train_limit=100 eval_limit=100 epochs=1 free_steps=20 nudge_steps=8 eval_steps=20
  run paper paper cpu train_limit=200 eval_limit=100 epochs=1
  if [ "${FULL:-0}" = 1 ]; then run quick-full quick cpu; fi
} > "$out"
wc -l "$out"
