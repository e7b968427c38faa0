package io.jdiffusion.tensor.cpu;

import io.jdiffusion.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Winograd F(2×2, 3×3) convolution against a double-precision loop: on odd image sizes (tiles
 * over the right and bottom edges), channel counts that fill no whole GEMM panel, several blocks
 * per image and blocks that run on into the next image, batches, the bias and both forms of residual, weights packed at load and plain; and
 * at the full-size SDXL depths (2560 input channels: blocks cut to the scratch limit; 1300 output
 * channels: several row tiles). Its error must stay within a small multiple of the direct GEMM's.
 */
class WinogradConvTest {
    /** c, h, w, o, batch */
    static final int[][] SHAPES = {
            {16, 32, 32, 16, 1}, {19, 33, 31, 21, 2}, {33, 31, 17, 45, 2}, {64, 40, 36, 70, 3}, {20, 13, 64, 25, 3},
            {2560, 16, 16, 40, 4}, {24, 16, 18, 1300, 4},
    };

    @Test
    void matchesDoubleLoopOnEdgeAndFullSizeShapes() { runAll(); }

    /** Also run by {@link VectorKernelCheck} on the Vector API kernel's panels (8 × 32). */
    static void runAll() {
        CpuBackend cpu = CpuBackend.INSTANCE;
        for (int[] s : SHAPES) {
            int c = s[0], h = s[1], wd = s[2], o = s[3], n = s[4];
            assertTrue(WinogradConv.applies(n, c, o, h, wd, 3, 3, 1, 1), "shape " + java.util.Arrays.toString(s) + " runs as Winograd");
            long seed = c * 31L + h * 7L + o;
            float[] wv = Ref.random(seed, o * c * 9), rounded = new float[wv.length];
            for (int i = 0; i < wv.length; i++) wv[i] *= (float) (1.0 / Math.sqrt(c * 9.0)); // unit-variance outputs, as a trained layer's
            Tensor packed = PackedWeightsTest.uploaded(wv, rounded, o, c, 3, 3), plain = Tensor.of(rounded, o, c, 3, 3);
            Tensor x = Ref.randn(seed + 1, n, c, h, wd), bias = Ref.randn(seed + 2, o);
            Tensor full = Ref.randn(seed + 3, n, o, h, wd), perChannel = Ref.randn(seed + 4, n, o, 1, 1);
            double[] exact = naive(x, rounded, o);
            String what = "winograd c" + c + " " + h + "x" + wd + " o" + o + " n" + n;
            check(what + " packed, bias", exact, bias, null, cpu.conv2d(x, packed, bias, 1, 1),
                    CpuBackend.im2colConv2d(x, packed, bias, 1, 1, null));
            check(what + " plain, no bias", exact, null, null, cpu.conv2d(x, plain, null, 1, 1),
                    CpuBackend.im2colConv2d(x, plain, null, 1, 1, null));
            check(what + " residual", exact, bias, full, cpu.conv2dAdd(x, packed, bias, 1, 1, full),
                    CpuBackend.im2colConv2d(x, packed, bias, 1, 1, full));
            check(what + " per-channel residual", exact, bias, perChannel, cpu.conv2dAdd(x, plain, bias, 1, 1, perChannel),
                    CpuBackend.im2colConv2d(x, plain, bias, 1, 1, perChannel));
        }
    }

    @Test
    void otherShapesStayOnTheDirectGemm() {
        assertFalse(WinogradConv.applies(1, 64, 64, 32, 32, 3, 3, 2, 1), "stride 2");
        assertFalse(WinogradConv.applies(1, 64, 64, 32, 32, 3, 3, 1, 0), "no padding");
        assertFalse(WinogradConv.applies(1, 64, 64, 32, 32, 1, 1, 1, 0), "1×1");
        assertFalse(WinogradConv.applies(1, 4, 512, 64, 64, 3, 3, 1, 1), "4 input channels (a VAE's conv_in)");
        assertFalse(WinogradConv.applies(1, 128, 3, 64, 64, 3, 3, 1, 1), "3 output channels (its conv_out)");
        assertFalse(WinogradConv.applies(2, 1280, 1280, 16, 16, 3, 3, 1, 1), "2 × 64 tiles (SDXL's 1280-channel blocks at 16×16)");
        assertTrue(WinogradConv.applies(2, 640, 640, 32, 32, 3, 3, 1, 1), "2 × 256 tiles");
        assertTrue(WinogradConv.applies(2, 1920, 640, 32, 32, 3, 3, 1, 1), "640 of 1920 channels: a 79 MB transformed weight");
        assertFalse(WinogradConv.applies(2, 1280, 1280, 32, 32, 3, 3, 1, 1), "1280 of 1280 channels: 105 MB, over the cap");
        assertFalse(WinogradConv.applies(2, 2560, 1280, 32, 32, 3, 3, 1, 1), "1280 of 2560 channels: its transform (210 MB) is over the cap");
    }

    /**
     * got and the direct GEMM against exact (+ bias + residual, in double): Winograd's largest error
     * at most 4× the direct one's plus 2 float ulps of the largest value (its transforms add terms
     * of up to 4 products before the sum over channels: a few more roundings, never a loss of digits).
     */
    private static void check(String what, double[] exact, Tensor bias, Tensor residual, Tensor got, Tensor direct) {
        float[] g = got.toFloatArray(), d = direct.toFloatArray(), b = bias == null ? null : bias.floats();
        float[] r = residual == null ? null : residual.floats();
        int[] shape = got.shape();
        int o = shape[1], plane = shape[2] * shape[3];
        assertEquals(exact.length, g.length, what + " size");
        double errW = 0, errD = 0, max = 0;
        for (int i = 0; i < g.length; i++) {
            double want = exact[i] + (b == null ? 0 : b[i / plane % o]);
            if (r != null) want += r.length == g.length ? r[i] : r[i / plane];
            errW = Math.max(errW, Math.abs(g[i] - want));
            errD = Math.max(errD, Math.abs(d[i] - want));
            max = Math.max(max, Math.abs(want));
        }
        double allowed = 4 * errD + 2 * Math.ulp((float) max);
        assertTrue(errW <= allowed, what + ": max error " + errW + " (direct GEMM " + errD + ", largest value " + max + ")");
        assertTrue(errW < 1e-4 * Math.max(1, max), what + ": max error " + errW + " relative to " + max);
    }

    /** The convolution (no bias) in double: y[b, o, i, j] = Σ w[o, c, ky, kx] · x[b, c, i + ky − 1, j + kx − 1]. */
    private static double[] naive(Tensor xt, float[] w, int o) {
        int n = xt.dim(0), c = xt.dim(1), h = xt.dim(2), wd = xt.dim(3);
        float[] x = xt.floats();
        double[] y = new double[n * o * h * wd];
        java.util.stream.IntStream.range(0, n * o).parallel().forEach(bo -> {
            int b = bo / o, oc = bo % o;
            double[] acc = new double[h * wd];
            for (int ci = 0; ci < c; ci++) {
                int plane = (b * c + ci) * h * wd;
                for (int ky = 0; ky < 3; ky++) {
                    for (int kx = 0; kx < 3; kx++) {
                        double wv = w[((oc * c + ci) * 3 + ky) * 3 + kx];
                        for (int i = 0; i < h; i++) {
                            int iy = i + ky - 1;
                            if (iy < 0 || iy >= h) continue;
                            for (int j = 0; j < wd; j++) {
                                int ix = j + kx - 1;
                                if (ix >= 0 && ix < wd) acc[i * wd + j] += wv * x[plane + iy * wd + ix];
                            }
                        }
                    }
                }
            }
            System.arraycopy(acc, 0, y, bo * h * wd, h * wd);
        });
        return y;
    }
}
