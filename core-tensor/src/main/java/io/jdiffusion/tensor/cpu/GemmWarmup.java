package io.jdiffusion.tensor.cpu;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Compiles the GEMM path before the first forward pass: the Vector API micro-kernel runs boxed
 * and many times slower until C2 has compiled it, which made the first step of a run seconds
 * slower than the others. Started once, on a daemon thread, when a model's weights are uploaded
 * (loading mostly waits on the file), it multiplies small private matrices for a bounded time.
 */
final class GemmWarmup {
    private GemmWarmup() {}

    private static final AtomicBoolean STARTED = new AtomicBoolean();

    /** Longest the warm-up keeps one core busy. */
    private static final long MAX_NANOS = 3_000_000_000L;

    static void start() {
        if (!STARTED.compareAndSet(false, true)) return;
        Thread t = new Thread(GemmWarmup::run, "jdiffusion-gemm-warmup");
        t.setDaemon(true);
        t.setPriority(Thread.MIN_PRIORITY);
        t.start();
    }

    private static void run() {
        int s = 256;
        float[] a = new float[s * s], b = new float[s * s], c = new float[s * s];
        for (int i = 0; i < a.length; i++) {
            a[i] = (i % 7) * 0.25f;
            b[i] = (i % 5) * 0.5f;
        }
        long t0 = System.nanoTime();
        for (int it = 0; it < 200 && System.nanoTime() - t0 < MAX_NANOS; it++) {
            boolean transposed = (it & 1) == 1; // both B layouts: linear layers pack the transposed one
            CpuGemm.sgemm(s, s, s, a, 0, s, b, 0, s, transposed, c, 0, s, false, CpuGemm.Impl.AUTO);
        }
    }
}
