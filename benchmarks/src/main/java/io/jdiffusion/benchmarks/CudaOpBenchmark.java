package io.jdiffusion.benchmarks;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.cuda.CudaBackend;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * One SDXL base-UNet op at its 1024² CFG shape (batch 2), for the per-op table of
 * scripts/gpu-bench.sh. Each op has a library-only counterpart run in the same JVM: attention
 * ({@code attn-*}, the tensor-core kernel reading [B, S, H·D]) beside GEMM → softmax → GEMM on
 * cuBLAS ({@code attn-*-gemm}); 3×3 convolution (the implicit-GEMM kernel conv_mma.cu) beside
 * im2col + cuBLAS ({@code conv-*-im2col}, the path it replaced, as F32 still runs it) and the bare
 * cuBLAS GEMM of the same FLOPs ({@code conv-*-gemm}). At tear-down a timed median of 20 runs is printed as one
 * line, {@code op <name>: median <ms> ms, <TFLOP/s or GB/s>}, so the rate needs no post-processing.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 1, time = 1)
@Measurement(iterations = 2, time = 1)
public class CudaOpBenchmark {
    @Param("cuda-f16")
    public String backend;
    /** 1: lengths and rows divided by 16, sides by 8, channels by 4 (a CPU smoke run); 0: SDXL's. */
    @Param("0")
    public int tiny;
    @Param({"attn-4096x4096", "attn-4096x4096-gemm", "attn-4096x77", "attn-4096x77-gemm", "attn-1024x1024", "attn-1024x1024-gemm",
            "conv-128-320", "conv-128-320-im2col", "conv-128-320-gemm", "conv-64-640", "conv-64-640-im2col", "conv-64-640-gemm",
            "conv-32-1280", "conv-32-1280-im2col", "conv-32-1280-gemm",
            "groupnorm-128-320", "groupnorm-32-1280", "linear-4096-640-5120", "linear-1024-1280-10240"})
    public String op;

    private Backend be;
    private Supplier<Tensor> run;
    private double flops, bytes;

    @Setup(Level.Trial)
    public void setup() {
        be = FullSize.backend(backend);
        Random r = new Random(1);
        String[] p = op.split("-");
        int div = tiny == 1 ? 4 : 1, lenDiv = tiny == 1 ? 16 : 1;
        int es = be.computeType().byteSize();
        switch (p[0]) {
            case "attn" -> {
                String[] len = p[1].split("x");
                int sq = Integer.parseInt(len[0]) / lenDiv, sk = Math.max(1, Integer.parseInt(len[1]) / lenDiv), d = 64;
                int heads = sq >= 4096 / lenDiv ? 10 : 20;   // SDXL: 640 channels at 128², 1280 at 64² (latents)
                Tensor q = rand(r, 2, sq, heads * d), k = rand(r, 2, sk, heads * d), v = rand(r, 2, sk, heads * d);
                flops = 4.0 * 2 * heads * sq * sk * d;
                if (p.length > 2) {   // cuBLAS GEMM, softmax kernel, cuBLAS GEMM on [B, H, S, D]
                    Tensor qh = split(q, heads), kt = be.transpose(split(k, heads), -1, -2), vh = split(v, heads);
                    float scale = (float) (1 / Math.sqrt(d));
                    run = () -> be.matmul(be.softmax(be.mulScalar(be.matmul(qh, kt), scale)), vh);
                } else run = () -> be.attentionHeads(q, k, v, heads);
            }
            case "conv" -> {
                int hw = Integer.parseInt(p[1]) / (tiny == 1 ? 8 : 1), c = Integer.parseInt(p[2]) / div;
                flops = 2.0 * 2 * hw * hw * c * c * 9;
                if (p.length > 3 && p[3].equals("gemm")) {
                    Tensor cols = rand(r, 2 * hw * hw, c * 9), w = rand(r, c * 9, c);
                    run = () -> be.matmul(cols, w);
                } else {
                    Tensor x = rand(r, 2, c, hw, hw), w = rand(r, c, c, 3, 3), b = rand(r, c);
                    // -im2col: the im2col + cuBLAS path (F32's) in the benchmark's 16-bit type; else the implicit-GEMM kernel
                    run = p.length > 3 && be instanceof CudaBackend cuda ? () -> cuda.conv2dIm2col(x, w, b, 1, 1) : () -> be.conv2d(x, w, b, 1, 1);
                }
            }
            case "groupnorm" -> {
                int hw = Integer.parseInt(p[1]) / (tiny == 1 ? 8 : 1), c = Integer.parseInt(p[2]) / div;
                Tensor x = rand(r, 2, c, hw, hw), g = rand(r, c), b = rand(r, c);
                bytes = 2.0 * 2 * c * hw * hw * es;
                run = () -> be.groupNorm(x, 32 / div, g, b, 1e-5f, true);
            }
            case "linear" -> {
                int rows = Integer.parseInt(p[1]) / lenDiv, in = Integer.parseInt(p[2]) / div, out = Integer.parseInt(p[3]) / div;
                Tensor x = rand(r, 2, rows, in), w = rand(r, out, in), b = rand(r, out);
                flops = 2.0 * 2 * rows * in * out;
                run = () -> be.linear(x, w, b);
            }
            default -> throw new IllegalArgumentException("unknown op " + op);
        }
    }

    private Tensor rand(Random r, int... shape) {
        long n = 1;
        for (int s : shape) n *= s;
        float[] a = FullSize.gauss(r, n);
        for (int i = 0; i < a.length; i++) a[i] *= 0.5f;
        return be.fromFloats(a, shape);
    }

    private Tensor split(Tensor t, int heads) {
        return be.permute(t.reshape(t.dim(0), t.dim(1), heads, t.dim(2) / heads), 0, 2, 1, 3);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        double[] ms = new double[20];
        for (int i = 0; i < ms.length; i++) {
            long t0 = System.nanoTime();
            once();
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        Arrays.sort(ms);
        double med = (ms[9] + ms[10]) / 2;
        String rate = flops > 0 ? String.format("%.2f TFLOP/s", flops / med / 1e9) : String.format("%.1f GB/s", bytes / med / 1e6);
        System.out.printf("%nop %s on %s: median %.3f ms, %s%n", op, backend, med, rate);
        FullSize.close(be);
    }

    @Benchmark
    public int once() {
        try (Backend.Scope s = be.openScope()) {
            Tensor y = run.get();
            FullSize.sync(be);
            return y.rank();
        }
    }
}
