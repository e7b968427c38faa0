#!/usr/bin/env bash
# Compiles every CUDA kernel source of the CUDA backend with nvcc for sm_80 (object code) and
# sm_90 (PTX), so kernel syntax errors show up on machines without a GPU. The backend itself
# compiles the same sources at run time with NVRTC; the sources use no host headers, so what
# nvcc accepts here NVRTC accepts there (nvcc pre-includes cuda_runtime.h, NVRTC does not: keep
# to built-in device functions). Skips (exit 0) with a message when nvcc is absent.
#
# --emulate: instead, builds the CPU stand-ins of the CUDA driver, NVRTC and cuBLAS(Lt) in
# core-tensor/src/test/resources/io/jdiffusion/tensor/cuda/emu (g++ only, no GPU, no CUDA) into
# core-tensor/target/cuda-emu and runs the core-tensor tests against them: the CUDA rows of the op
# matrix, the leak and fixture tests then run the real kernel sources (as C++ on fibers) through the
# real Java bindings. Then the full-size component tests of the pipelines module
# (FullSizeComponentsCudaTest: every official SDXL component from the bundled configs, random weights,
# CUDA against the CPU; the F32 base UNet needs ~11 GB of host memory for the emulated device), and
# the pipelines' fixture cases (PipelineFixtureTest) on the emulated device in F16.
# JDIFFUSION_EMULATE_FULL_SIZE chooses the full-size cases:
#   1 (the default): CI's matrix: the base UNet in F16, BF16 and F32, the refiner and inpainting UNets
#     in F16, the VAE in all three dtypes at 64x64 and in F16 and F32 at 64x96, both text encoders in
#     all three; each case left out is printed with its reason (the argument: docs/cuda.md,
#     "Full-size components on the emulated device")
#   all: every component in F16, BF16 and F32 (adds ~7 emulated minutes and the F32 refiner and
#     inpainting UNets' 10-12 GB)
#   0: neither the full-size tests nor the pipeline fixture cases
# The emulated device runs a launch's blocks on JDIFFUSION_EMU_THREADS OS threads (default: the CPU
# count; 1 runs them one after another, as before). Extra arguments go to every Maven run
# (e.g. -Djdiffusion.fullsize.dtypes=f16).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
src="$root/core-tensor/src/main/resources/io/jdiffusion/tensor/cuda"
if [ "${1:-}" = "--emulate" ]; then
  full_size="${JDIFFUSION_EMULATE_FULL_SIZE:-1}"
  case "$full_size" in
    0) matrix="" ;;
    1) matrix=ci ;;
    all) matrix=all ;;
    *) echo "check-cuda-sources: JDIFFUSION_EMULATE_FULL_SIZE must be 0, 1 or all, not '$full_size'" >&2; exit 1 ;;
  esac
  emu="$root/core-tensor/src/test/resources/io/jdiffusion/tensor/cuda/emu"
  out="$root/core-tensor/target/cuda-emu"
  command -v g++ >/dev/null || { echo "check-cuda-sources: --emulate needs g++" >&2; exit 1; }
  mkdir -p "$out"
  rm -rf "$out/kernels"
  flags=(-std=c++20 -O2 -fPIC -shared -w)
  g++ "${flags[@]}" -pthread -o "$out/libcuda.so.1" "$emu/fake_cuda.cpp" -ldl
  g++ "${flags[@]}" -DJDEMU_DIR="\"$emu\"" -o "$out/libnvrtc.so.13" "$emu/fake_nvrtc.cpp"
  # the emulated GEMM does the full-size tests' work: optimised and threaded
  g++ -std=c++20 -O3 -fPIC -shared -w -pthread -o "$out/libcublasLt.so.13" "$emu/fake_cublas.cpp"
  cp "$out/libcublasLt.so.13" "$out/libcublas.so.13"
  echo "check-cuda-sources: emulated CUDA built in $out; running the core-tensor tests on it"
  cd "$root"
  JDIFFUSION_CUDA_LIBS="$out" JDIFFUSION_KERNEL_CACHE="$out/kernels" ./mvnw -q -o -pl core-tensor test "${@:2}"
  # the shape-only backend's launch count held to what CudaBackend really queues (a fixture UNet, F16 and F32),
  # and the fixture UNet's forward replayed as a CUDA graph against the eager forward
  JDIFFUSION_CUDA_LIBS="$out" JDIFFUSION_KERNEL_CACHE="$out/kernels" ./mvnw -q -o -pl unet -am test \
    -Dtest='LaunchCountAgreementTest,UNetCudaGraphTest' -Dsurefire.failIfNoSpecifiedTests=false "${@:2}"
  if [ -n "$matrix" ]; then
    echo "check-cuda-sources: running the full-size component tests ($matrix matrix) and the pipeline fixture cases on the emulated device"
    # an F32 UNet holds 10.3 GB of weights: the emulated device (host memory) gets 12 GiB instead of 8,
    # and where less than 16 GiB of memory is available its large blocks live in files under target/
    # (shared mappings the kernel can write back and evict) rather than risk the out-of-memory killer
    avail_kib=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo 2>/dev/null || echo 0)
    if [ -z "${JDIFFUSION_EMU_DEVICE_DIR:-}" ] && [ "${avail_kib:-0}" -lt $((16 * 1024 * 1024)) ]; then
      export JDIFFUSION_EMU_DEVICE_DIR="$out/device"
      mkdir -p "$JDIFFUSION_EMU_DEVICE_DIR"
      echo "check-cuda-sources: $((avail_kib / 1048576)) GiB available: the emulated device's large blocks go to files in $JDIFFUSION_EMU_DEVICE_DIR"
    fi
    # the 14 pipeline fixture cases (PipelineFixtureTest, every model and pipeline of the fixtures) run on the
    # default backend, here the emulated device in its default F16 (JDIFFUSION_BACKEND=cuda: no CPU fallback)
    JDIFFUSION_BACKEND=cuda JDIFFUSION_EMU_DEVICE_GIB="${JDIFFUSION_EMU_DEVICE_GIB:-12}" \
    JDIFFUSION_CUDA_LIBS="$out" JDIFFUSION_KERNEL_CACHE="$out/kernels" ./mvnw -q -o -pl pipelines -am test \
      -Dtest='FullSizeComponentsCudaTest,PipelineFixtureTest' -Dsurefire.failIfNoSpecifiedTests=false \
      -Djdiffusion.fullsize.matrix="$matrix" "${@:2}"
  fi
  echo "check-cuda-sources: OK: the tests passed on the emulated device"
  exit 0
fi
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
