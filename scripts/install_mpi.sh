#!/usr/bin/env bash
# Installs what the `mpi` feature needs from the Debian packages when it is missing: Open MPI
# (mpirun and the library) and libclang (the mpi crate generates its bindings at build time).
set -euo pipefail
if command -v mpirun >/dev/null 2>&1 && command -v mpicc >/dev/null 2>&1 \
    && ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1; then
    exit 0
fi
echo "installing Open MPI and libclang (Debian packages) for the mpi feature"
(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    openmpi-bin libopenmpi-dev libclang-dev) >/dev/null \
    || { echo "error: could not install Open MPI (apt-get install openmpi-bin libopenmpi-dev libclang-dev)" >&2; exit 1; }
