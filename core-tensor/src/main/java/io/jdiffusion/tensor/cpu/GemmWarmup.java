package io.jdiffusion.tensor.cpu;

import io.jdiffusion.tensor.Shapes;
import io.jdiffusion.tensor.Tensor;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Compiles the GEMM path before the first forward pass: the Vector API micro-kernel runs boxed
 * and many times slower until C2 has compiled it, which made the first step of a run seconds
 * slower than the others. Started once, on a daemon thread, when a model's weights are uploaded
 * (loading mostly waits on the file), it runs every op of a step on small tensors many times, so
 * that each is compiled as a method, then multiplies larger private matrices for a bounded time.
 */
final class GemmWarmup {
    private GemmWarmup() {}

    private static final AtomicBoolean STARTED = new AtomicBoolean();

    /** Longest the large products of the warm-up keep one core busy (the small ops are bounded by their count). */
    private static final long MAX_NANOS = 3_000_000_000L;

    static void start() {
        if (!STARTED.compareAndSet(false, true)) return;
        Thread t = new Thread(GemmWarmup::run, "jdiffusion-gemm-warmup");
        t.setDaemon(true);
        t.setPriority(Thread.MIN_PRIORITY);
        t.start();
    }

    private static void run() {
        tinyOps(TINY_CALLS);
        bigProducts();
    }

    private static void bigProducts() {
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

    /**
     * Calls per routine of the first phase. A routine called a few times on long loops (as above, or
     * a GELU over 5120 columns) gets only its loops compiled on the stack; C2 compiles it as a method
     * after some hundreds of calls, and until then each call of the first forward starts again in the
     * interpreter, where the Vector API runs boxed (the first step's GEGLU took 1.5 s instead of 0.1).
     */
    private static final int TINY_CALLS = 1500;

    /**
     * Every op of a UNet step on small tensors, {@code calls} times (TINY_CALLS: 3.6 s, 5.3 CPU-seconds with C2's compiling, measured alone), so that
     * each is compiled as a method; in the shapes' variety of a real step (weights packed at load,
     * products large enough to be split over the cores, image edges, strides, residuals, a key count
     * that is no multiple of the vector length), because a branch or a type the warm-up never saw
     * makes C2's code fall back to the interpreter on its first use in the step (an "uncommon trap")
     * and compile again, with the Vector API running boxed meanwhile.
     */
    static void tinyOps(int calls) {
        CpuBackend cpu = CpuBackend.INSTANCE;
        CpuGemm.MicroKernel kern = CpuGemm.kernel();
        Tensor x = tensor(8, 64), rows = tensor(2, 40, 64), bias = tensor(64);
        Tensor w = packed(kern.nr(), 64, 64), plain = tensor(64, 64);
        // 40 pixels wide: panels of one output row and panels across rows (im2col's two paths)
        Tensor img = tensor(2, 16, 5, 40), kernel = packed(kern.mr(), 16, 16, 3, 3), pointwise = packed(kern.mr(), 16, 16, 1, 1);
        Tensor wide = tensor(2, 16, 24, 24), wkernel = packed(kern.mr(), 16, 16, 3, 3), wfull = tensor(2, 16, 24, 24);
        Tensor perChannel = tensor(2, 16, 1, 1), full = tensor(2, 16, 5, 40), b16 = tensor(16), c16 = tensor(2, 16, 1, 1);
        Tensor q = tensor(2, 40, 128), ctx = tensor(2, 77, 128);
        for (int i = 0; i < calls; i++) {
            cpu.linear(x, w, bias);
            cpu.linear(rows, w, bias);
            cpu.linear(x, plain, null);
            cpu.linearAdd(rows, w, bias, rows);
            cpu.geglu(x);
            cpu.gelu(x);
            cpu.layerNorm(rows, bias, bias, 1e-5f);
            cpu.groupNorm(img, 8, b16, b16, 1e-5f, true);
            cpu.groupNorm(img, 8, b16, b16, 1e-5f, false);
            cpu.attentionHeads(q, q, q, 2);
            cpu.attentionHeads(q, ctx, ctx, 2);
            cpu.conv2d(img, kernel, b16, 1, 1);
            cpu.conv2d(img, kernel, b16, 2, 1);
            cpu.conv2dAdd(img, kernel, b16, 1, 1, full);
            cpu.conv2dAdd(img, kernel, b16, 1, 1, perChannel);
            cpu.conv2dAdd(img, pointwise, b16, 1, 0, full);
            if (i % 10 == 0) { // Winograd: the smallest batch it takes
                cpu.conv2d(wide, wkernel, b16, 1, 1);
                cpu.conv2dAdd(wide, wkernel, b16, 1, 1, wfull);
                cpu.conv2dAdd(wide, wkernel, b16, 1, 1, c16);
            }
        }
    }

    /** A weight as the CPU upload leaves it: packed in the GEMM's panels of {@code width} rows. */
    private static Tensor packed(int width, int... shape) {
        int r = shape[0], cols = Math.toIntExact(Shapes.numel(shape) / r);
        float[] data = new float[(int) PanelStorage.packedLength(r, cols, width)];
        PanelStorage.pack(tensor(r, cols).floats(), 0, data, 0, r, cols, width);
        return new Tensor(new PanelStorage(data, r, cols, width), shape);
    }

    private static Tensor tensor(int... shape) {
        float[] d = new float[Math.toIntExact(Shapes.numel(shape))];
        for (int i = 0; i < d.length; i++) d[i] = (i % 11) * 0.125f - 0.5f;
        return Tensor.of(d, shape);
    }
}
