#!/usr/bin/env bash
# Prepares everything a GPU machine needs to run the CUDA backend's checks, into the ignored
# folder .gpu/ (it travels with the working tree as a carried path):
#   .gpu/jre.tar.xz  a jlink'ed JDK 25 runtime (java.base, java.logging, jdk.unsupported, jdk.zipfs), xz-packed
#   .gpu/lib/        the module jars, their test classes, and only the dependency jars they need
#   .gpu/check/      GpuCheck, a small JUnit Platform launcher main (compiled here)
#   .gpu/run.sh      what runs there: unpack the runtime, run every test of the project with
#                    -Djdiffusion.backend=cuda (the op matrix's CUDA rows, the leak tests, and
#                    each module's fixture tests), then time a few SDXL-sized ops; writes $OUT
# and prints the ONE command to give the device tool. Then runs the same check here with the
# packed runtime (CUDA rows skip without a GPU) to prove the bundle is complete.
# Usage: scripts/gpu-check.sh [--no-local-run]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
LIMIT=$((64 * 1024 * 1024))
JLINK_COMPRESS="${JLINK_COMPRESS:-zip-6}"
local_run=1
[ "${1:-}" = "--no-local-run" ] && local_run=0

jdk=""
for cand in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/*; do
  [ -n "$cand" ] && [ -x "$cand/bin/jlink" ] || continue
  v=$("$cand/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | cut -d. -f1)
  if [ -n "$v" ] && [ "$v" -ge 25 ]; then jdk="$cand"; break; fi
done
[ -n "$jdk" ] || { echo "gpu-check: no JDK >= 25 with jlink found (set JAVA_HOME)" >&2; exit 1; }

echo "gpu-check: building the jars (tests compiled, not run)"
rm -rf .gpu
mkdir -p .gpu/lib .gpu/check .gpu/deps
# every module but the JMH benchmarks. The dependency plugin cannot run offline here, so the test
# classpath is read from the compiler's debug output (its testPath), our own modules left out.
./mvnw -o -X -pl '!benchmarks' package -DskipTests 2>&1 \
  | sed -n 's/.*(f) testPath = \[\(.*\)\]$/\1/p' | tr ',' '\n' | sed 's/^ *//' \
  | grep '\.jar$' | grep -v '/io/jdiffusion/' | grep -v "^$root/" | sort -u > .gpu/classpath.txt || true
[ -s .gpu/classpath.txt ] || { echo "gpu-check: could not read the test classpath from the build (does './mvnw -o package' work?)" >&2; exit 1; }
while read -r j; do cp "$j" .gpu/deps/; done < .gpu/classpath.txt
rm .gpu/classpath.txt
for m in */pom.xml; do
  mod="$(dirname "$m")"
  [ "$mod" = benchmarks ] && continue
  for j in "$mod"/target/*.jar; do
    [ -f "$j" ] || continue
    case "$j" in *-tests.jar|*-sources.jar) continue ;; esac
    cp "$j" .gpu/lib/
  done
  if [ -d "$mod/target/test-classes" ] && [ -n "$(ls -A "$mod/target/test-classes" 2>/dev/null)" ]; then
    "$jdk/bin/jar" --create --file ".gpu/lib/$mod-tests.jar" -C "$mod/target/test-classes" .
  fi
done
# the launcher is not a test dependency of the build (surefire brings its own): take it from the
# local repository, matching the platform version of the engine the build uses
engine="$(ls .gpu/deps/junit-platform-engine-*.jar | head -1)"
pver="${engine##*/junit-platform-engine-}"; pver="${pver%.jar}"
launcher="$HOME/.m2/repository/org/junit/platform/junit-platform-launcher/$pver/junit-platform-launcher-$pver.jar"
[ -f "$launcher" ] || { echo "gpu-check: $launcher missing: run once without -o: ./mvnw dependency:get -Dartifact=org.junit.platform:junit-platform-launcher:$pver" >&2; exit 1; }
cp "$launcher" .gpu/deps/
# lean: drop what nothing at run time needs
rm -f .gpu/deps/*-sources.jar .gpu/deps/jmh-* .gpu/deps/jopt-simple-* .gpu/deps/commons-math3-*
mv .gpu/deps/*.jar .gpu/lib/ && rmdir .gpu/deps

echo "gpu-check: compiling GpuCheck"
cat > .gpu/check/GpuCheck.java <<'JAVA'
import io.jdiffusion.tensor.Backends;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.cuda.CudaBackend;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

import java.io.PrintWriter;
import java.util.Random;

import static org.junit.platform.engine.discovery.ClassNameFilter.includeClassNamePatterns;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectPackage;
import static org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder.request;

/**
 * Runs every io.jdiffusion test on the classpath, then times SDXL-sized ops on CUDA.
 * Args: --local (no CUDA is not an error), --no-timings.
 */
public class GpuCheck {
    public static void main(String[] args) {
        java.util.List<String> a = java.util.List.of(args);
        boolean local = a.contains("--local"), timings = !a.contains("--no-timings");
        PrintWriter out = new PrintWriter(System.out, true);
        Backends.CudaAvailability cuda = Backends.cudaAvailability();
        out.println("CUDA: " + (cuda.available() ? cuda.info() : "NOT AVAILABLE: " + cuda.reason()));
        if (!cuda.available() && !local) out.println("gpu-check: FAILED: no CUDA here; the CUDA rows below will be skipped");

        LauncherDiscoveryRequest req = request().selectors(selectPackage("io.jdiffusion"))
                .filters(includeClassNamePatterns("^.*Test$")).build();
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener summary = new SummaryGeneratingListener();
        int[] skips = {0};
        TestExecutionListener detail = new TestExecutionListener() {
            TestPlan plan;
            @Override public void testPlanExecutionStarted(TestPlan p) { plan = p; }
            String name(TestIdentifier id) {
                String cls = plan.getParent(id).map(TestIdentifier::getDisplayName).orElse("");
                return cls + " > " + id.getDisplayName();
            }
            @Override public void executionSkipped(TestIdentifier id, String reason) {
                if (skips[0]++ < 5) out.println("SKIPPED " + name(id) + ": " + reason);
            }
            @Override public void executionFinished(TestIdentifier id, TestExecutionResult r) {
                if (r.getStatus() == TestExecutionResult.Status.ABORTED && id.isTest() && skips[0]++ < 5) {
                    out.println("SKIPPED " + name(id) + ": " + r.getThrowable().map(Throwable::getMessage).orElse(""));
                }
                if (r.getStatus() == TestExecutionResult.Status.FAILED) {
                    String m = r.getThrowable().map(t -> t.getClass().getSimpleName() + ": " + t.getMessage()).orElse("");
                    out.println("FAILED " + name(id) + ": " + (m.length() > 1500 ? m.substring(0, 1500) + "..." : m));
                }
            }
        };
        long t0 = System.nanoTime();
        launcher.execute(req, summary, detail);
        TestExecutionSummary s = summary.getSummary();
        out.printf("tests: %d found, %d succeeded, %d failed, %d skipped/aborted, %.1f s%n", s.getTestsFoundCount(),
                s.getTestsSucceededCount(), s.getTotalFailureCount(), s.getTestsSkippedCount() + s.getTestsAbortedCount(),
                (System.nanoTime() - t0) / 1e9);
        s.printFailuresTo(out, 8);
        if (cuda.available() && timings) timings(out);
        out.flush();
        System.exit(s.getTotalFailureCount() > 0 ? 1 : (!cuda.available() && !local ? 2 : 0));
    }

    static float[] rand(long n) {
        Random r = new Random(1);
        float[] d = new float[Math.toIntExact(n)];
        for (int i = 0; i < d.length; i++) d[i] = r.nextFloat() - 0.5f;
        return d;
    }

    static void time(PrintWriter out, CudaBackend b, String what, double flops, Runnable op) {
        op.run();
        op.run();
        int reps = 10;
        float ms = b.timeMillis(() -> { for (int i = 0; i < reps; i++) op.run(); }) / reps;
        out.printf("  %-58s %9.3f ms%s%n", what, ms, flops > 0 ? String.format("  %7.1f TFLOP/s", flops / ms / 1e9) : "");
    }

    static void timings(PrintWriter out) {
        for (DType dt : new DType[] {DType.F16, DType.BF16, DType.F32}) {
            try (CudaBackend b = CudaBackend.create(0, dt, 0)) {
                out.println("timings, " + dt + " storage, on " + b.info().name() + ":");
                Tensor a = b.fromFloats(rand(4096L * 4096), 4096, 4096);
                time(out, b, "matmul 4096x4096x4096", 2.0 * 4096 * 4096 * 4096, () -> b.matmul(a, a).close());
                Tensor x = b.fromFloats(rand(8192L * 640), 2, 4096, 640), w = b.fromFloats(rand(5120L * 640), 5120, 640),
                        bias = b.fromFloats(rand(5120), 5120);
                time(out, b, "linear+bias [2,4096,640] x [5120,640]", 2.0 * 8192 * 5120 * 640, () -> b.linear(x, w, bias).close());
                Tensor q = b.fromFloats(rand(2L * 10 * 4096 * 64), 2, 10, 4096, 64);
                time(out, b, "attention self [2,10,4096,64]", 4.0 * 20 * 4096 * 4096 * 64, () -> b.attention(q, q, q, false).close());
                Tensor kv = b.fromFloats(rand(2L * 10 * 77 * 64), 2, 10, 77, 64);
                time(out, b, "attention cross [2,10,4096,64] x 77", 4.0 * 20 * 4096 * 77 * 64, () -> b.attention(q, kv, kv, false).close());
                Tensor img = b.fromFloats(rand(2L * 640 * 64 * 64), 2, 640, 64, 64), cw = b.fromFloats(rand(640L * 640 * 9), 640, 640, 3, 3);
                Tensor cb = b.fromFloats(rand(640), 640);
                time(out, b, "conv2d 3x3 [2,640,64,64] -> 640", 2.0 * 2 * 640 * 4096 * 640 * 9, () -> b.conv2d(img, cw, cb, 1, 1).close());
                Tensor g = b.fromFloats(rand(640), 640);
                time(out, b, "groupNorm+silu [2,640,64,64] 32 groups", 0, () -> b.groupNorm(img, 32, g, g, 1e-5f, true).close());
                time(out, b, "add [2,640,64,64]", 0, () -> b.add(img, img).close());
                out.println("  memory: " + b.memoryStats());
            } catch (RuntimeException e) {
                out.println("timings " + dt + " FAILED: " + e);
                e.printStackTrace(out);
            }
        }
    }
}
JAVA
"$jdk/bin/javac" --release 25 -nowarn -d .gpu/check -cp ".gpu/lib/*" .gpu/check/GpuCheck.java
rm .gpu/check/GpuCheck.java

echo "gpu-check: linking the runtime ($JLINK_COMPRESS)"
# jdk.zipfs: JUnit finds test classes inside jars through the zip file system
mods="java.base,java.logging,jdk.unsupported,jdk.zipfs"
compress=()
[ "$JLINK_COMPRESS" != none ] && compress=(--compress="$JLINK_COMPRESS")
"$jdk/bin/jlink" --add-modules "$mods" --strip-debug --no-header-files --no-man-pages "${compress[@]}" --output .gpu/jre
# the JVM library carries a 5 MB static symbol table nothing reads at run time
if command -v strip >/dev/null; then strip --strip-unneeded .gpu/jre/lib/server/libjvm.so; fi
tar -C .gpu -cf - jre | xz -9 -T2 > .gpu/jre.tar.xz
rm -rf .gpu/jre

cat > .gpu/run.sh <<'RUN'
#!/usr/bin/env bash
# Runs on the GPU machine from the repository root. Results go to $OUT (or .gpu/out).
set -uo pipefail
OUT="${OUT:-.gpu/out}"; mkdir -p "$OUT"
jre=/tmp/jdiffusion-jre; rm -rf "$jre"; mkdir -p "$jre"
if command -v xz >/dev/null; then tar -xJf .gpu/jre.tar.xz -C "$jre" --strip-components=1
else rm -rf /tmp/jdiffusion-x && python3 -c "import tarfile; tarfile.open('.gpu/jre.tar.xz').extractall('/tmp/jdiffusion-x')" \
  && rm -rf "$jre" && mv /tmp/jdiffusion-x/jre "$jre"; fi
{ nvidia-smi 2>&1 | head -15; echo; ldconfig -p 2>/dev/null | grep -E 'libcuda\.so|libnvrtc|libcublas' ; echo;
  find /usr /opt /lib /lib64 \( -name 'libcuda.so*' -o -name 'libnvrtc.so*' -o -name 'libnvrtc-builtins.so*' -o -name 'libcublas*.so*' \) \
    2>/dev/null | head -40; } > "$OUT/env.txt" 2>&1
export JDIFFUSION_KERNEL_CACHE=/tmp/jdiffusion-kernels
"$jre/bin/java" --enable-native-access=ALL-UNNAMED -Xmx24g -Djdiffusion.backend=cuda -Djdiffusion.testdata="$PWD/testdata" \
  -Dorg.slf4j.simpleLogger.defaultLogLevel=info -cp ".gpu/lib/*:.gpu/check" GpuCheck "$@" 2>&1 | tee "$OUT/gpu-check.txt"
rc=${PIPESTATUS[0]}
echo "exit $rc" >> "$OUT/gpu-check.txt"
exit $rc
RUN
chmod +x .gpu/run.sh

# size: everything that travels (tracked + untracked-not-ignored files) plus the carried .gpu
tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 -r stat -c %s 2>/dev/null | awk '{s+=$1} END {print s+0}')
gpu=$(du -sb .gpu | cut -f1)
total=$((tree + gpu))
printf 'gpu-check: .gpu is %.1f MiB (runtime %.1f MiB packed, jars %.1f MiB), the tree %.1f MiB: %.1f MiB of the 64 MiB that travel\n' \
  "$(echo "$gpu/1048576" | bc -l)" "$(echo "$(stat -c %s .gpu/jre.tar.xz)/1048576" | bc -l)" \
  "$(echo "$(du -sb .gpu/lib | cut -f1)/1048576" | bc -l)" "$(echo "$tree/1048576" | bc -l)" "$(echo "$total/1048576" | bc -l)"
if [ "$total" -ge "$LIMIT" ]; then echo "gpu-check: FAILED: $total bytes would travel, over 64 MiB" >&2; exit 1; fi

if [ "$local_run" = 1 ]; then
  echo "gpu-check: running the bundle here (no GPU: CUDA rows skip)"
  OUT="$(mktemp -d)" bash .gpu/run.sh --local | tail -12
fi
echo
echo "gpu-check: ready. On the GPU machine run, with the device tool (carry [\".gpu\"], timeout_s 480):"
echo
echo "    bash .gpu/run.sh"
echo
echo "It writes \$OUT/gpu-check.txt (test summary, every failure, op timings) and \$OUT/env.txt (driver, library locations)."
