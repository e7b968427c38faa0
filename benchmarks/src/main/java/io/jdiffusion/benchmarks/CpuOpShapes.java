package io.jdiffusion.benchmarks;

import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.SegmentStorage;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.cpu.CpuBackend;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The CPU backend's GEMM-bound ops at the shapes of the full-size SDXL base UNet (batch 2), timed
 * one op at a time: the Java side of benchmarks/torch-compare/op_shapes.py, which times
 * torch's equivalents in the same run. Weights are F16 in native memory uploaded through
 * {@link CpuBackend#upload}, as a model's mapped weights are. Prints one JSON line per op:
 * name, median and minimum seconds over the repetitions, GFLOP/s, CPU seconds per call.
 *
 * <p>Usage: {@code CpuOpShapes <reps> <op> ...}, op one of the names of {@link #run}.
 */
public final class CpuOpShapes {
    private CpuOpShapes() {}

    public static void main(String[] args) {
        int reps = Integer.parseInt(args[0]);
        for (int i = 1; i < args.length; i++) run(args[i], reps);
    }

    /** linear:M:K:N, conv:B:C:H:O:k (stride 1, padding k/2), attn:B:H:S:Sk:D. */
    static void run(String op, int reps) {
        String[] p = op.split(":");
        int[] v = new int[p.length - 1];
        for (int i = 1; i < p.length; i++) v[i - 1] = Integer.parseInt(p[i]);
        CpuBackend be = CpuBackend.INSTANCE;
        SplittableRandom rnd = new SplittableRandom(1);
        Runnable body;
        double flop;
        switch (p[0]) {
            case "linear" -> {
                Tensor x = random(rnd, v[0], v[1]);
                Tensor w = be.upload(nativeF16(rnd, v[2], v[1]), DType.F32), b = random(rnd, v[2]);
                body = () -> be.linear(x, w, b);
                flop = 2.0 * v[0] * v[1] * v[2];
            }
            case "conv" -> {
                Tensor x = random(rnd, v[0], v[1], v[2], v[2]);
                Tensor w = be.upload(nativeF16(rnd, v[3], v[1], v[4], v[4]), DType.F32), b = random(rnd, v[3]);
                body = () -> be.conv2d(x, w, b, 1, v[4] / 2);
                flop = 2.0 * v[0] * v[3] * v[2] * v[2] * v[1] * v[4] * v[4];
            }
            case "attn" -> {
                Tensor q = random(rnd, v[0], v[1], v[2], v[4]), k = random(rnd, v[0], v[1], v[3], v[4]), vv = random(rnd, v[0], v[1], v[3], v[4]);
                body = () -> be.attention(q, k, vv, false);
                flop = 4.0 * v[0] * v[1] * v[2] * v[3] * v[4];
            }
            default -> throw new IllegalArgumentException("op must be linear:M:K:N, conv:B:C:H:O:k or attn:B:H:S:Sk:D, got " + op);
        }
        awaitBackendWarmup();
        long w0 = System.nanoTime(); // warm up: C2 compiles the Vector API kernels after some calls
        for (int i = 0; i < 3 || System.nanoTime() - w0 < 1_500_000_000L; i++) body.run();
        double[] t = new double[reps];
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        long cpu0 = os.getProcessCpuTime();
        for (int r = 0; r < reps; r++) {
            long t0 = System.nanoTime();
            body.run();
            t[r] = (System.nanoTime() - t0) / 1e9;
        }
        double cpuPerRep = (os.getProcessCpuTime() - cpu0) / 1e9 / reps;
        java.util.Arrays.sort(t);
        double med = t[reps / 2];
        // cpu_s: CPU seconds per call of the whole process (JIT and GC included): less sensitive to other users' load
        // min_s: the least disturbed call, the steadiest figure when other users share the cores
        System.out.printf(Locale.ROOT, "{\"side\": \"jdiffusion\", \"op\": \"%s\", \"s\": %.6f, \"min_s\": %.6f, \"gflops\": %.2f, \"cpu_s\": %.6f}%n",
                op, med, t[0], flop / med / 1e9, cpuPerRep);
    }

    /**
     * The CPU backend compiles its kernels on a daemon thread when weights are first uploaded (up to
     * 3 s of one core); the first op timed would otherwise share the cores with it.
     */
    private static void awaitBackendWarmup() {
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (!t.getName().equals("jdiffusion-gemm-warmup")) continue;
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static Tensor random(SplittableRandom rnd, int... shape) {
        float[] d = new float[Math.toIntExact(io.jdiffusion.tensor.Shapes.numel(shape))];
        for (int i = 0; i < d.length; i++) d[i] = (float) rnd.nextGaussian() * 0.5f;
        return Tensor.of(d, shape);
    }

    /** An F16 tensor in native memory, like a weight mapped from a safetensors file. */
    private static Tensor nativeF16(SplittableRandom rnd, int... shape) {
        long n = io.jdiffusion.tensor.Shapes.numel(shape);
        MemorySegment seg = Arena.global().allocate(2 * n, 2);
        double scale = 1.0 / Math.sqrt(n / shape[0]);
        for (long i = 0; i < n; i++) seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, Float.floatToFloat16((float) (rnd.nextGaussian() * scale)));
        return new Tensor(new SegmentStorage(seg, DType.F16), shape);
    }
}
