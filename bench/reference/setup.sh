#!/usr/bin/env bash
# Creates the PyTorch reference's virtual environment (comparison only; never used by tests/CI).
# PyPI's Linux torch wheel is the CUDA build: it needs the nvidia-* runtime wheels just to import
# (~5 GiB installed) although the benchmark runs on the CPU only (MKL + OpenMP inside torch).
# Usage: bench/reference/setup.sh [VENV]   (default: bench/reference/.venv, gitignored)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${1:-$here/.venv}"
python3 -m venv "$venv"
"$venv/bin/pip" install --upgrade pip
"$venv/bin/pip" install -r "$here/requirements.txt"
"$venv/bin/python" -c "import torch; print('torch', torch.__version__, 'threads', torch.get_num_threads())"
