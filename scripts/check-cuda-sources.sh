#!/usr/bin/env bash
# Compiles every CUDA kernel source of the CUDA backend with nvcc for sm_80 (object code) and
# sm_90 (PTX), so kernel syntax errors show up on machines without a GPU. The backend itself
# compiles the same sources at run time with NVRTC; the sources use no host headers, so what
# nvcc accepts here NVRTC accepts there (nvcc pre-includes cuda_runtime.h, NVRTC does not: keep
# to built-in device functions). Skips (exit 0) with a message when nvcc is absent.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
src="$root/core-tensor/src/main/resources/io/jdiffusion/tensor/cuda"
nvcc_bin=""
if command -v nvcc >/dev/null 2>&1; then nvcc_bin="$(command -v nvcc)"; fi
if [ -z "$nvcc_bin" ]; then
  for c in ${CUDA_HOME:+$CUDA_HOME/bin/nvcc} /usr/local/cuda/bin/nvcc /usr/local/cuda*/bin/nvcc; do
    if [ -x "$c" ]; then nvcc_bin="$c"; break; fi
  done
fi
if [ -z "$nvcc_bin" ]; then
  echo "check-cuda-sources: SKIPPED: nvcc not found (looked on PATH, \$CUDA_HOME/bin, /usr/local/cuda*/bin)"
  exit 0
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
fail=0
n=0
for f in "$src"/*.cu; do
  name="$(basename "$f" .cu)"
  n=$((n + 1))
  if ! "$nvcc_bin" -std=c++17 -arch=sm_80 -c -I "$src" -o "$out/$name.sm80.o" "$f"; then
    echo "check-cuda-sources: FAILED: $name.cu for sm_80"; fail=1
  fi
  if ! "$nvcc_bin" -std=c++17 -arch=sm_90 --ptx -I "$src" -o "$out/$name.sm90.ptx" "$f"; then
    echo "check-cuda-sources: FAILED: $name.cu for sm_90 (PTX)"; fail=1
  fi
done
if [ "$n" -eq 0 ]; then echo "check-cuda-sources: FAILED: no .cu files in $src"; exit 1; fi
if [ "$fail" -ne 0 ]; then exit 1; fi
echo "check-cuda-sources: OK: $n sources compile for sm_80 and sm_90 with $("$nvcc_bin" --version | tail -1)"
