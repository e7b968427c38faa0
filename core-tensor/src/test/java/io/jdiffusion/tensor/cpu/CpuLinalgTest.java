package io.jdiffusion.tensor.cpu;

import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static io.jdiffusion.tensor.testing.TensorAssert.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** matmul, linear and conv2d of the CPU backend against plain loops written here. */
class CpuLinalgTest {
    private final CpuBackend cpu = CpuBackend.INSTANCE;

    @Test
    void matmulHandWorked() {
        Tensor a = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        Tensor b = Tensor.of(new float[] {7, 8, 9, 10, 11, 12}, 3, 2);
        // [[1*7+2*9+3*11, 1*8+2*10+3*12], [4*7+5*9+6*11, 4*8+5*10+6*12]]
        assertClose("2x3 @ 3x2", Tensor.of(new float[] {58, 64, 139, 154}, 2, 2), cpu.matmul(a, b), 0);
    }

    /** a[..., m, k] @ b[..., k, n] with numpy batch broadcasting, in double. */
    static float[] naiveMatmul(Tensor a, Tensor b, int[] outShape) {
        int[] as = a.shape(), bs = b.shape();
        int m = as[as.length - 2], k = as[as.length - 1], n = bs[bs.length - 1];
        float[] ad = a.toFloatArray(), bd = b.toFloatArray();
        float[] out = new float[(int) Tensor.zeros(outShape).numel()];
        int r = outShape.length;
        for (int f = 0; f < out.length; f++) {
            int[] idx = Ref.unflat(outShape, f);
            int[] ai = new int[as.length], bi = new int[bs.length];
            for (int d = 0; d < as.length - 2; d++) ai[d] = as[d] == 1 ? 0 : idx[d + (r - as.length)];
            for (int d = 0; d < bs.length - 2; d++) bi[d] = bs[d] == 1 ? 0 : idx[d + (r - bs.length)];
            double s = 0;
            for (int p = 0; p < k; p++) {
                ai[as.length - 2] = idx[r - 2];
                ai[as.length - 1] = p;
                bi[bs.length - 2] = p;
                bi[bs.length - 1] = idx[r - 1];
                s += (double) ad[Ref.flat(as, ai)] * bd[Ref.flat(bs, bi)];
            }
            out[f] = (float) s;
        }
        return out;
    }

    @Test
    void matmulBatchedAndBroadcastBatch() {
        int[][][] cases = {
                {{3, 5, 7}, {3, 7, 9}, {3, 5, 9}},             // batched
                {{2, 3, 4, 17}, {17, 33}, {2, 3, 4, 33}},       // rank-2 b broadcast over the batch
                {{2, 1, 6, 8}, {1, 3, 8, 5}, {2, 3, 6, 5}},     // both batch dims broadcast
                {{4, 1, 9}, {4, 9, 1}, {4, 1, 1}},              // 1x1 results
                {{1, 70, 130}, {2, 130, 530}, {2, 70, 530}},    // big enough for the parallel tiled path
        };
        for (int[][] c : cases) {
            Tensor a = Ref.randn(c[0].length * 7L + c[0][c[0].length - 1], c[0]);
            Tensor b = Ref.randn(c[1].length * 11L + c[1][c[1].length - 1], c[1]);
            Tensor got = cpu.matmul(a, b);
            int k = c[0][c[0].length - 1];
            assertClose("matmul " + a + " @ " + b, Tensor.of(naiveMatmul(a, b, c[2]), c[2]), got, 2e-6 * k);
        }
    }

    @Test
    void matmulVectorOperandsLikeNumpy() {
        Tensor v = Tensor.of(new float[] {1, 2, 3}, 3);
        Tensor m = Tensor.of(new float[] {1, 0, 2, 1, 0, -1}, 3, 2); // [[1,0],[2,1],[0,-1]]
        assertClose("v @ m", Tensor.of(new float[] {5, -1}, 2), cpu.matmul(v, m), 0);
        Tensor mt = Tensor.of(new float[] {1, 2, 0, 0, 1, -1}, 2, 3);
        assertClose("m @ v", Tensor.of(new float[] {5, -1}, 2), cpu.matmul(mt, v), 0);
        assertClose("v @ v", Tensor.of(new float[] {14}), cpu.matmul(v, v), 0);
        assertThrows(IllegalArgumentException.class, () -> cpu.matmul(Tensor.zeros(2, 3), Tensor.zeros(2, 3)));
        assertThrows(IllegalArgumentException.class, () -> cpu.matmul(Tensor.zeros(2, 2, 3), Tensor.zeros(3, 3, 1)));
    }

    static float[] naiveLinear(float[] x, int rows, int in, float[] w, int out, float[] bias) {
        float[] y = new float[rows * out];
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double s = bias == null ? 0 : bias[o];
                for (int i = 0; i < in; i++) s += (double) x[r * in + i] * w[o * in + i];
                y[r * out + o] = (float) s;
            }
        }
        return y;
    }

    @Test
    void linearWithAndWithoutBias() {
        for (int[] s : new int[][] {{1, 1, 1, 1}, {2, 3, 20, 7}, {2, 77, 33, 65}, {1, 300, 130, 530}}) {
            int b = s[0], t = s[1], in = s[2], out = s[3];
            Tensor x = Ref.randn(1 + in, b, t, in), w = Ref.randn(2 + out, out, in), bias = Ref.randn(3, out);
            float[] expected = naiveLinear(x.floats(), b * t, in, w.floats(), out, bias.floats());
            assertClose("linear+bias " + in + "->" + out, Tensor.of(expected, b, t, out), cpu.linear(x, w, bias), 2e-6 * in);
            float[] noBias = naiveLinear(x.floats(), b * t, in, w.floats(), out, null);
            assertClose("linear " + in + "->" + out, Tensor.of(noBias, b, t, out), cpu.linear(x, w, null), 2e-6 * in);
        }
        // rank-1 input
        Tensor w = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2);
        assertClose("vector input", Tensor.of(new float[] {5 + 1, 11 - 1}, 2),
                cpu.linear(Tensor.of(new float[] {1, 2}, 2), w, Tensor.of(new float[] {1, -1}, 2)), 0);
        assertThrows(IllegalArgumentException.class, () -> cpu.linear(Tensor.zeros(2, 3), Tensor.zeros(4, 2), null));
        assertThrows(IllegalArgumentException.class, () -> cpu.linear(Tensor.zeros(2, 3), Tensor.zeros(4, 3), Tensor.zeros(3)));
    }

    @Test
    void linearReadsF16AndBf16WeightsInPlace() {
        int in = 37, out = 19;
        Tensor x = Ref.randn(5, 3, in);
        for (DType dt : new DType[] {DType.F16, DType.BF16}) {
            float[] rounded = new float[out * in];
            Tensor w = Ref.halfTensor(dt, Ref.random(6, out * in), rounded, out, in);
            float[] bRounded = new float[out];
            Tensor bias = Ref.halfTensor(dt, Ref.random(7, out), bRounded, out);
            float[] expected = naiveLinear(x.floats(), 3, in, rounded, out, bRounded);
            assertClose("linear with " + dt + " weights", Tensor.of(expected, 3, out), cpu.linear(x, w, bias), 1e-4);
        }
    }

    /**
     * Convolution with zero padding, in double, tap by tap: each weight tap w[oc, ci, ky, kx] adds
     * w · (the input plane ci shifted by (ky, kx), sampled with the stride) to output plane oc.
     */
    static float[] naiveConv(Tensor x, Tensor w, Tensor bias, int stride, int pad) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3), o = w.dim(0), kh = w.dim(2), kw = w.dim(3);
        int ho = (h + 2 * pad - kh) / stride + 1, wo = (wd + 2 * pad - kw) / stride + 1, plane = ho * wo;
        float[] xd = x.floats(), taps = w.floats();
        double[] acc = new double[n * o * plane];
        for (int img = 0; img < n; img++) {
            for (int tap = 0; tap < taps.length; tap++) {
                int oc = tap / (c * kh * kw), ci = tap / (kh * kw) % c, ky = tap / kw % kh, kx = tap % kw;
                int outBase = (img * o + oc) * plane, inBase = (img * c + ci) * h * wd;
                for (int pix = 0; pix < plane; pix++) {
                    int iy = pix / wo * stride - pad + ky, ix = pix % wo * stride - pad + kx;
                    if (iy >= 0 && iy < h && ix >= 0 && ix < wd) acc[outBase + pix] += (double) taps[tap] * xd[inBase + iy * wd + ix];
                }
            }
        }
        float[] y = new float[acc.length];
        for (int i = 0; i < acc.length; i++) y[i] = (float) (acc[i] + (bias == null ? 0 : bias.floats()[i / plane % o]));
        return y;
    }

    @Test
    void conv2dKernelsStridesPaddingsBatch2() {
        int[][] cfgs = { // c, h, w, o, k, stride, pad
                {3, 7, 9, 5, 1, 1, 0}, {3, 7, 9, 5, 3, 1, 1}, {3, 7, 9, 5, 3, 2, 1}, {4, 8, 8, 6, 3, 2, 0},
                {3, 7, 9, 5, 1, 2, 0}, {2, 5, 6, 4, 3, 1, 0}, {5, 1, 1, 3, 1, 1, 0}, {5, 1, 1, 3, 3, 1, 1},
                {16, 12, 10, 40, 3, 1, 1}, {2, 6, 5, 3, 1, 1, 1},
        };
        for (int[] cf : cfgs) {
            int c = cf[0], h = cf[1], wd = cf[2], o = cf[3], k = cf[4], stride = cf[5], pad = cf[6];
            Tensor x = Ref.randn(c * 100L + h, 2, c, h, wd), w = Ref.randn(o + 7L, o, c, k, k), bias = Ref.randn(o, o);
            int ho = (h + 2 * pad - k) / stride + 1, wo = (wd + 2 * pad - k) / stride + 1;
            String what = "conv2d c" + c + " " + h + "x" + wd + " k" + k + " s" + stride + " p" + pad;
            Tensor got = cpu.conv2d(x, w, bias, stride, pad);
            assertArrayEquals(new int[] {2, o, ho, wo}, got.shape(), what);
            assertClose(what, Tensor.of(naiveConv(x, w, bias, stride, pad), 2, o, ho, wo), got, 2e-6 * c * k * k);
            assertClose(what + " no bias", Tensor.of(naiveConv(x, w, null, stride, pad), 2, o, ho, wo), cpu.conv2d(x, w, null, stride, pad), 2e-6 * c * k * k);
        }
        assertThrows(IllegalArgumentException.class, () -> cpu.conv2d(Tensor.zeros(1, 3, 4, 4), Tensor.zeros(2, 4, 3, 3), null, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> cpu.conv2d(Tensor.zeros(1, 3, 4, 4), Tensor.zeros(2, 3, 3, 3), null, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> cpu.conv2d(Tensor.zeros(1, 3, 2, 2), Tensor.zeros(2, 3, 3, 3), null, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> cpu.conv2d(Tensor.zeros(1, 3, 4, 4), Tensor.zeros(2, 3, 3, 3), Tensor.zeros(3), 1, 1));
    }

    @Test
    void conv2dHandWorked() {
        // 1 channel 3x3 input 1..9, 2x2 kernel of ones, stride 1, no padding: sums of 2x2 windows
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 1, 3, 3);
        Tensor w = Tensor.of(new float[] {1, 1, 1, 1}, 1, 1, 2, 2);
        assertClose("2x2 box", Tensor.of(new float[] {12, 16, 24, 28}, 1, 1, 2, 2), cpu.conv2d(x, w, null, 1, 0), 0);
        // padding 1, stride 2: windows at (-1,-1), (-1,1), (1,-1), (1,1)
        assertClose("2x2 box s2 p1", Tensor.of(new float[] {1, 5, 11, 28}, 1, 1, 2, 2), cpu.conv2d(x, w, null, 2, 1), 0);
    }
}
