# Sourced by the GPU scripts: puts CUDA 13's cuBLAS, NVRTC and driver on the library path
# (the toolkit's, else the ones PyTorch's wheels bring). Needs log() defined.
for lib in libcublas.so.13 libnvrtc.so.13 libcuda.so.1; do
  d=$(ldconfig -p | awk -v l="$lib" '$1 == l {print $NF; exit}')
  [ -z "$d" ] && d=$(find /usr/local /usr/lib /opt -name "$lib" 2>/dev/null | head -1)
  [ -n "$d" ] && export LD_LIBRARY_PATH="$(dirname "$d"):${LD_LIBRARY_PATH:-}"
  log "$lib -> ${d:-not found}"
done
