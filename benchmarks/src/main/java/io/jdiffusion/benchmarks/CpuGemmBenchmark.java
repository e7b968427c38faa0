package io.jdiffusion.benchmarks;

import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.cpu.CpuBackend;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * The CPU backend's matmul, C[M, N] = A[M, K] B[K, N], on the GEMM shapes that dominate SDXL on the
 * CPU, in three forms measured in the same run:
 * <ul>
 *   <li>{@link #vectorApi}: the packed Vector API micro-kernel (JVM started with
 *       {@code --add-modules jdk.incubator.vector});</li>
 *   <li>{@link #autoVectorised}: the default JVM (no incubator module, no warning), where the
 *       backend uses its C2-auto-vectorised loops;</li>
 *   <li>{@link #naive}: the textbook i-j-p triple loop on one thread, the baseline.</li>
 * </ul>
 * Average time per product; GFLOP/s = 2·M·N·K / time (see docs/benchmarks.md).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 3, time = 10)
public class CpuGemmBenchmark {
    /** M x K x N. */
    @Param({"1024x1024x1024", "4096x640x640", "4096x640x2560"})
    public String shape;

    private int m, k, n;
    private Tensor a, b;
    private float[] ad, bd;

    @Setup
    public void setup() {
        String[] p = shape.split("x");
        m = Integer.parseInt(p[0]);
        k = Integer.parseInt(p[1]);
        n = Integer.parseInt(p[2]);
        Random r = new Random(42);
        ad = new float[m * k];
        bd = new float[k * n];
        for (int i = 0; i < ad.length; i++) ad[i] = (float) r.nextGaussian();
        for (int i = 0; i < bd.length; i++) bd[i] = (float) r.nextGaussian();
        a = Tensor.of(ad, m, k);
        b = Tensor.of(bd, k, n);
    }

    @Benchmark
    @Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector"})
    public Tensor vectorApi() {
        return CpuBackend.INSTANCE.matmul(a, b);
    }

    @Benchmark
    @Fork(1)
    public Tensor autoVectorised() {
        return CpuBackend.INSTANCE.matmul(a, b);
    }

    @Benchmark
    @Fork(1)
    @Warmup(iterations = 1, time = 1)
    public float[] naive() {
        float[] c = new float[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                float s = 0f;
                for (int p = 0; p < k; p++) s += ad[i * k + p] * bd[p * n + j];
                c[i * n + j] = s;
            }
        }
        return c;
    }
}
