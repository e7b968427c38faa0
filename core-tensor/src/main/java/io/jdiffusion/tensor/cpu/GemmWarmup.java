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
        CpuGemm.MicroKernel kern = CpuGemm.kernel();
        float[] packed = new float[(int) PanelStorage.packedLength(s, s, kern.nr())];
        PanelStorage.pack(b, 0, packed, 0, s, s, kern.nr());
        GemmOperand weights = new GemmOperand.Prepacked(new PanelStorage(packed, s, s, kern.nr()));
        long t0 = System.nanoTime();
        // every operand kind the ops use: plain and transposed matrices, weights packed at load,
        // a convolution's implicit im2col (16 channels of 16x16, 3x3), the blocked attention, and
        // the vector GELU and GroupNorm+SiLU (their first calls run boxed, hundreds of times slower)
        for (int it = 0; it < 480 && System.nanoTime() - t0 < MAX_NANOS; it++) {
            switch (it % 6) {
                case 0, 1 -> CpuGemm.sgemm(s, s, s, a, 0, s, b, 0, s, it % 6 == 1, c, 0, s, false, CpuGemm.Impl.AUTO);
                case 2 -> CpuGemm.gemm(s, s, s, GemmOperand.lines(a, 0, s), weights, c, 0, s, false, kern);
                case 3 -> CpuGemm.gemm(s, s, 144, GemmOperand.lines(a, 0, 144), GemmOperand.im2col(b, 0, 16, 16, 3, 3, 1, 1, 16),
                        c, 0, s, false, kern);
                case 4 -> CpuAttention.attention(a, b, a, c, 1, s, s, 64, 64, false);
                default -> {
                    CpuBackend.geluTimes(a, 0, b, 0, c, 0, a.length);
                    if (CpuGemm.VECTOR) VectorNorm.affineSilu(a, c, 0, a.length, 0.5, 1.5, 0.25);
                }
            }
        }
    }
}
