#!/usr/bin/env bash
# Prepares the full-size SDXL benchmarks for a GPU machine, into the ignored folder .gpu-bench/
# (it travels with the working tree as a carried path):
#   .gpu-bench/jre.tar.xz      a jlink'ed JDK 25 runtime with what the shaded JMH jar needs, xz-packed
#   .gpu-bench/benchmarks.jar  the shaded JMH jar (every module, JMH, Jackson, SLF4J)
#   .gpu-bench/run.sh          what runs there, in priority order, inside one 10-minute call:
#       1. CFG step (batch 2) and batch 1 of the full-size base UNet at 1024² and 768², cuda-f16
#          (the base step sampled per call: its JSON's p0.50 is the median of >= 20 after warm-up)
#       1b. the per-op table (CudaOpBenchmark): tensor-core attention at SDXL's shapes beside cuBLAS
#          GEMM-softmax-GEMM, 3x3 conv per level (implicit-GEMM kernel) beside im2col + cuBLAS and the
#          bare cuBLAS GEMM, GroupNorm+SiLU, linear;
#          one line "op NAME on BACKEND: median MS ms, RATE" each
#       2. VAE decode 1024², fp32 and bf16
#       3. CLIP-L and bigG text encoders, batch 2
#       4. a whole 30-step base+refiner inpainting run at 1024², unlimited and under --vram 8g
#          (prints the peak device memory of each)
#       5. CudaVsCpuCheck: the full-size base UNet F32/F16 on CUDA against the CPU backend
#       6. CFG step of the refiner and of the 9-channel inpainting UNet at 1024²
#     each JMH run writes $OUT/<name>.json (-rf json) and $OUT/<name>.txt; every step has a time
#     cap, and the whole stays under $BENCH_BUDGET_S seconds (default 540), skipping what no
#     longer fits (say so in $OUT/summary.txt).
# and prints the ONE command to give the device tool. Then runs run.sh here with tiny settings
# (CUDA missing: it checks the bundle starts and the CPU path works) unless --no-local-run.
# Usage: scripts/gpu-bench.sh [--no-local-run]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
LIMIT=$((64 * 1024 * 1024))
local_run=1
[ "${1:-}" = "--no-local-run" ] && local_run=0

jdk=""
for cand in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/*; do
  [ -n "$cand" ] && [ -x "$cand/bin/jlink" ] || continue
  v=$("$cand/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | cut -d. -f1)
  if [ -n "$v" ] && [ "$v" -ge 25 ]; then jdk="$cand"; break; fi
done
[ -n "$jdk" ] || { echo "gpu-bench: no JDK >= 25 with jlink found (set JAVA_HOME)" >&2; exit 1; }

echo "gpu-bench: building the shaded benchmarks jar"
./mvnw -q -o -pl benchmarks -am package -DskipTests
rm -rf .gpu-bench
mkdir -p .gpu-bench
cp benchmarks/target/benchmarks.jar .gpu-bench/

echo "gpu-bench: linking the runtime"
# java.management for JMH, jdk.unsupported, jdk.zipfs for jar file systems. Left out though jdeps lists
# them: java.desktop (ImageIO, which only PNG file inputs use; the benchmarks make their images) and
# java.sql (Jackson's optional java.sql types). Uncompressed modules: xz packs them far smaller.
mods="java.base,java.logging,java.management,jdk.unsupported,jdk.zipfs"
"$jdk/bin/jlink" --add-modules "$mods" --strip-debug --no-header-files --no-man-pages --compress=zip-0 --output .gpu-bench/jre
if command -v strip >/dev/null; then strip --strip-unneeded .gpu-bench/jre/lib/server/libjvm.so; fi
tar -C .gpu-bench -cf - jre | xz -9 -T2 > .gpu-bench/jre.tar.xz
rm -rf .gpu-bench/jre

cat > .gpu-bench/run.sh <<'RUN'
#!/usr/bin/env bash
# Runs on the GPU machine from the repository root; results go to $OUT (or .gpu-bench/out).
# BENCH_BUDGET_S: seconds for everything (default 540). BENCH_TINY=1: the CPU smoke settings.
set -uo pipefail
OUT="${OUT:-.gpu-bench/out}"; mkdir -p "$OUT"
start=$(date +%s)
budget="${BENCH_BUDGET_S:-540}"
jre=/tmp/jdiffusion-bench-jre; rm -rf "$jre"; mkdir -p "$jre"
if command -v xz >/dev/null; then tar -xJf .gpu-bench/jre.tar.xz -C "$jre" --strip-components=1
else rm -rf /tmp/jdiffusion-bx && python3 -c "import tarfile; tarfile.open('.gpu-bench/jre.tar.xz').extractall('/tmp/jdiffusion-bx')" \
  && rm -rf "$jre" && mv /tmp/jdiffusion-bx/jre "$jre"; fi
{ nvidia-smi 2>&1 | head -15; nproc; free -g; } > "$OUT/env.txt" 2>&1
export JDIFFUSION_KERNEL_CACHE=/tmp/jdiffusion-kernels
# the built-in configs are laid out under the cache on first use: keep it off a possibly read-only home
export JDIFFUSION_CACHE="${JDIFFUSION_CACHE:-/tmp/jdiffusion-cache}"
java=("$jre/bin/java" --enable-native-access=ALL-UNNAMED -Dorg.slf4j.simpleLogger.defaultLogLevel=warn)
# no -foe: a trial that fails (logged in its .txt) does not stop the others
jmh=("${java[@]}" -jar .gpu-bench/benchmarks.jar -f 1)
summary="$OUT/summary.txt"; : > "$summary"
if [ "${BENCH_TINY:-0}" = 1 ]; then
  full=(-p scale=tiny -p backend=cpu); big=16; mid=12; steps=5; it=(-wi 0 -i 1 -r 1); vram=(-p vram=0,64m); stepmode=()
else
  full=(-p scale=full -p backend=cuda-f16); big=128; mid=96; steps=30; it=(-wi 2 -w 2 -i 3 -r 2); vram=(-p vram=0,8g)
  stepmode=(-bm sample)   # the base step: every call sampled, the JSON's p0.50 is the median of >= 20 after warm-up
fi

# step NAME CAP_SECONDS COMMAND...: runs it under what is left of the budget (at most CAP)
step() {
  local name=$1 cap=$2; shift 2
  local left=$(( budget - ($(date +%s) - start) ))
  local t=$(( cap < left ? cap : left ))
  if [ "$t" -lt 20 ]; then echo "SKIPPED $name: ${left}s left of ${budget}s" | tee -a "$summary"; return; fi
  local s0=$(date +%s)
  timeout -k 10 "$t" "$@" > "$OUT/$name.txt" 2>&1
  local rc=$?
  echo "$name: exit $rc after $(( $(date +%s) - s0 ))s (cap ${t}s)$([ $rc = 124 ] && echo ', TIMED OUT: no JSON')" | tee -a "$summary"
  grep -E '^(Sdxl|Benchmark)|^op |^(PASS|FAIL|CPU reference)|device memory|peak in use|<failure>|Exception:' "$OUT/$name.txt" | head -40 | tee -a "$summary"
}

step step-base 170 "${jmh[@]}" SdxlStepBenchmark "${full[@]}" -p model=base -p latent=$big,$mid -p batch=2,1 "${it[@]}" \
  "${stepmode[@]}" -rf json -rff "$OUT/step-base.json"
# per-op table: our kernels beside cuBLAS-only counterparts in the same JVM (one process, -f 0)
step ops 120 "${java[@]}" -jar .gpu-bench/benchmarks.jar CudaOpBenchmark -f 0 -wi 1 -w 1 -i 1 -r 1 \
  -p backend=$([ "${BENCH_TINY:-0}" = 1 ] && echo cpu || echo cuda-f16) -p tiny="${BENCH_TINY:-0}" -rf json -rff "$OUT/ops.json"
step vae-decode 70 "${jmh[@]}" SdxlVaeDecodeBenchmark -p scale="${full[1]#scale=}" \
  -p backend=$([ "${BENCH_TINY:-0}" = 1 ] && echo cpu || echo cuda-f32,cuda-bf16) -p latent=$big "${it[@]}" \
  -rf json -rff "$OUT/vae-decode.json"
step text-encoders 60 "${jmh[@]}" SdxlTextEncodersBenchmark "${full[@]}" "${it[@]}" -rf json -rff "$OUT/text-encoders.json"
step inpaint-run 170 "${jmh[@]}" SdxlInpaintRunBenchmark "${full[@]}" -p size=$((big * 8)) -p steps=$steps "${vram[@]}" \
  -wi 1 -i 1 -rf json -rff "$OUT/inpaint-run.json"
[ "${BENCH_TINY:-0}" = 1 ] || step cuda-vs-cpu 120 "${java[@]}" -cp .gpu-bench/benchmarks.jar io.jdiffusion.benchmarks.CudaVsCpuCheck 16
step step-refiner-inpaint 80 "${jmh[@]}" SdxlStepBenchmark "${full[@]}" -p model=refiner,inpaint -p latent=$big -p batch=2 "${it[@]}" \
  -rf json -rff "$OUT/step-refiner-inpaint.json"
echo "total $(( $(date +%s) - start ))s" | tee -a "$summary"
RUN
chmod +x .gpu-bench/run.sh

tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 -r stat -c %s 2>/dev/null | awk '{s+=$1} END {print s+0}')
bundle=$(du -sb .gpu-bench | cut -f1)
total=$((tree + bundle))
printf 'gpu-bench: .gpu-bench is %.1f MiB (runtime %.1f MiB packed), the tree %.1f MiB: %.1f MiB of the 64 MiB that travel\n' \
  "$(echo "$bundle/1048576" | bc -l)" "$(echo "$(stat -c %s .gpu-bench/jre.tar.xz)/1048576" | bc -l)" \
  "$(echo "$tree/1048576" | bc -l)" "$(echo "$total/1048576" | bc -l)"
if [ "$total" -ge "$LIMIT" ]; then echo "gpu-bench: FAILED: $total bytes would travel, over 64 MiB" >&2; exit 1; fi

if [ "$local_run" = 1 ]; then
  echo "gpu-bench: smoke run here (tiny models on the CPU, one short iteration each)"
  OUT="$(mktemp -d)" BENCH_TINY=1 BENCH_BUDGET_S=400 bash .gpu-bench/run.sh | tail -30
fi
echo
echo "gpu-bench: ready. On the GPU machine run, with the device tool (carry [\".gpu-bench\"], timeout_s 600):"
echo
echo "    bash .gpu-bench/run.sh"
echo
echo "It writes \$OUT/*.json (JMH results), \$OUT/*.txt (full logs), \$OUT/summary.txt and \$OUT/env.txt."
