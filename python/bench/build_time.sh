#!/usr/bin/env bash
# Times what .ci/run does for the Python package after `cargo test --release`: a fresh virtual
# environment, maturin/numpy/pytest from PyPI, then `pip install ./python` (PyO3, rust-numpy and
# the bindings compile from scratch: their build products are cleaned first; the library's
# release dependencies are already built, as after `cargo test --release`).
# Writes results/python/build.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=$(mktemp -d)/venv
cargo clean --release -q -p fhn-eqprop-python -p pyo3 -p pyo3-ffi -p pyo3-macros \
    -p pyo3-macros-backend -p pyo3-build-config -p numpy
start=$(date +%s.%N)
python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check "maturin>=1.5,<2" "numpy>=1.21" "pytest>=7"
mid=$(date +%s.%N)
"$venv/bin/pip" install -q --disable-pip-version-check ./python
end=$(date +%s.%N)
python3 - "$start" "$mid" "$end" "$("$venv/bin/python" -c 'import sys; print(sys.version.split()[0])')" "$(cat /proc/loadavg | cut -d' ' -f1)" <<'PY'
import json, sys
from pathlib import Path
start, mid, end, py, load = sys.argv[1:]
r = {"environment_seconds": float(mid) - float(start), "pip_install_python_seconds": float(end) - float(mid),
     "python": py, "load_average_at_end": float(load), "cores": 2}
Path("results/python").mkdir(parents=True, exist_ok=True)
Path("results/python/build.json").write_text(json.dumps(r, indent=2) + "\n")
print(r)
PY
rm -rf "$(dirname "$venv")"
