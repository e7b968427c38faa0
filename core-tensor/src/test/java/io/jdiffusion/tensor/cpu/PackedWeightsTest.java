package io.jdiffusion.tensor.cpu;

import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static io.jdiffusion.tensor.testing.TensorAssert.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Weights packed at load in the GEMM's panel layout ({@link PanelStorage}) and the convolution's
 * implicit im2col, against naive loops on shapes that leave partial panels, tiles and depth
 * blocks: rows not a multiple of the panel width, depth not a multiple of KC.
 */
class PackedWeightsTest {
    private final CpuBackend cpu = CpuBackend.INSTANCE;

    /** {@code values} as F16 in native memory (like a mapped weight), packed by the CPU upload; and the F16-rounded values. */
    static Tensor uploaded(float[] values, float[] rounded, int... shape) {
        return WeightCache.convert(Ref.halfTensor(DType.F16, values, rounded, shape), true);
    }

    @Test
    void panelStorageReadsBackRowMajor() {
        for (int[] s : new int[][] {{1, 1}, {5, 3}, {33, 7}, {70, 130}}) {
            float[] v = Ref.random(s[0] + 31L * s[1], s[0] * s[1]), r = new float[v.length];
            Tensor t = uploaded(v, r, s);
            assertTrue(t.storage() instanceof PanelStorage, "a matrix is packed on upload");
            assertArrayEquals(r, t.toFloatArray(), "all elements of " + s[0] + "x" + s[1]);
            // a view at an odd offset and length, as narrow() and embedding() read
            float[] part = new float[s[1] + 2 < r.length ? s[1] + 2 : 1];
            t.storage().readFloats(r.length - part.length, part, 0, part.length);
            for (int i = 0; i < part.length; i++) assertTrue(part[i] == r[r.length - part.length + i], "element " + i + " of the tail");
        }
    }

    @Test
    void linearOnPackedWeightsMatchesNaiveLoop() {
        int[][] shapes = {{1, 1, 1}, {3, 7, 5}, {9, 257, 70}, {130, 300, 37}, {17, 513, 33}, {2, 40, 600}};
        for (int[] s : shapes) { // rows, in, out
            int rows = s[0], in = s[1], out = s[2];
            float[] r = new float[out * in];
            Tensor w = uploaded(Ref.random(in + 3L * out, out * in), r, out, in);
            Tensor x = Ref.randn(rows + 11L, rows, in), b = Ref.randn(out + 5L, out);
            String what = "linear " + rows + "x" + in + " -> " + out;
            assertClose(what, Tensor.of(CpuLinalgTest.naiveLinear(x.floats(), rows, in, r, out, b.floats()), rows, out),
                    cpu.linear(x, w, b), 2e-6 * in);
        }
    }

    @Test
    void conv2dOnPackedWeightsAndImplicitIm2colMatchesNaiveLoop() {
        int[][] cfgs = { // c, h, w, o, k, stride, pad
                {3, 7, 9, 5, 3, 1, 1}, {3, 7, 9, 9, 3, 2, 1}, {30, 11, 13, 17, 3, 1, 1}, {4, 6, 5, 3, 3, 1, 2},
                {2, 5, 40, 12, 3, 1, 1}, {29, 9, 10, 33, 1, 1, 0}, {5, 8, 8, 7, 1, 2, 0}, {3, 4, 4, 6, 5, 1, 2},
                {3, 5, 6, 1100, 3, 1, 1}, // more output channels than one tile of prepacked rows: several row tiles
        };
        for (int[] cf : cfgs) {
            int c = cf[0], h = cf[1], wd = cf[2], o = cf[3], k = cf[4], stride = cf[5], pad = cf[6];
            float[] r = new float[o * c * k * k];
            Tensor w = uploaded(Ref.random(o * 7L + c, r.length), r, o, c, k, k);
            Tensor wr = Tensor.of(r, o, c, k, k), x = Ref.randn(c * 100L + h, 2, c, h, wd), bias = Ref.randn(o, o);
            int ho = (h + 2 * pad - k) / stride + 1, wo = (wd + 2 * pad - k) / stride + 1;
            String what = "conv2d c" + c + " " + h + "x" + wd + " o" + o + " k" + k + " s" + stride + " p" + pad;
            assertClose(what, Tensor.of(CpuLinalgTest.naiveConv(x, wr, bias, stride, pad), 2, o, ho, wo),
                    cpu.conv2d(x, w, bias, stride, pad), 2e-6 * c * k * k);
        }
    }

    /**
     * linearAdd and conv2dAdd add the bias and the residual on each finished GEMM tile: the
     * result must be exactly linear(x) + residual and residual + conv2d(x) (the same roundings),
     * on shapes of several row and column tiles, with a full residual and a per-channel one.
     */
    @Test
    void residualAddsOnTilesEqualTheOpThenAdd() {
        int rows = 300, in = 270, out = 600;
        Tensor w = uploaded(Ref.random(41, out * in), new float[out * in], out, in);
        Tensor x = Ref.randn(42, 2, rows / 2, in), b = Ref.randn(43, out), res = Ref.randn(44, 2, rows / 2, out);
        assertArrayEquals(cpu.add(cpu.linear(x, w, b), res).toFloatArray(), cpu.linearAdd(x, w, b, res).toFloatArray(), "linearAdd");
        assertArrayEquals(cpu.add(cpu.linear(x, w, null), res).toFloatArray(), cpu.linearAdd(x, w, null, res).toFloatArray(), "linearAdd, no bias");
        int c = 6, h = 23, o = 530;
        Tensor cw = uploaded(Ref.random(45, o * c * 9), new float[o * c * 9], o, c, 3, 3);
        Tensor cx = Ref.randn(46, 2, c, h, h), cb = Ref.randn(47, o);
        for (Tensor r : new Tensor[] {Ref.randn(48, 2, o, h, h), Ref.randn(49, 2, o, 1, 1)}) {
            String what = "conv2dAdd, residual " + java.util.Arrays.toString(r.shape());
            assertArrayEquals(cpu.add(r, cpu.conv2d(cx, cw, cb, 1, 1)).toFloatArray(), cpu.conv2dAdd(cx, cw, cb, 1, 1, r).toFloatArray(), what);
            assertArrayEquals(cpu.add(r, cpu.conv2d(cx, cw, null, 1, 1)).toFloatArray(), cpu.conv2dAdd(cx, cw, null, 1, 1, r).toFloatArray(), what + ", no bias");
        }
    }

    /** Entry point for {@link VectorKernelCheck}: the same checks with the Vector API kernel's panel widths. */
    static void runAll() {
        PackedWeightsTest t = new PackedWeightsTest();
        t.panelStorageReadsBackRowMajor();
        t.linearOnPackedWeightsMatchesNaiveLoop();
        t.conv2dOnPackedWeightsAndImplicitIm2colMatchesNaiveLoop();
        t.residualAddsOnTilesEqualTheOpThenAdd();
    }
}
