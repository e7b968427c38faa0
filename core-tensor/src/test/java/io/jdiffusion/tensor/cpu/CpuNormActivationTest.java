package io.jdiffusion.tensor.cpu;

import io.jdiffusion.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static io.jdiffusion.tensor.testing.TensorAssert.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Normalisations, activations, softmax and attention against plain double-precision loops. */
class CpuNormActivationTest {
    private final CpuBackend cpu = CpuBackend.INSTANCE;

    static double sigmoid(double v) { return 1 / (1 + Math.exp(-v)); }

    static float[] naiveGroupNorm(Tensor x, int groups, float[] g, float[] b, double eps, boolean silu) {
        int n = x.dim(0), c = x.dim(1), sp = (int) (x.numel() / ((long) n * c)), cpg = c / groups;
        float[] xd = x.floats(), y = new float[xd.length];
        for (int i = 0; i < n; i++)
            for (int gr = 0; gr < groups; gr++) {
                double s = 0, ss = 0;
                int cnt = cpg * sp;
                for (int ch = gr * cpg; ch < (gr + 1) * cpg; ch++) for (int p = 0; p < sp; p++) s += xd[(i * c + ch) * sp + p];
                double mean = s / cnt;
                for (int ch = gr * cpg; ch < (gr + 1) * cpg; ch++)
                    for (int p = 0; p < sp; p++) ss += Math.pow(xd[(i * c + ch) * sp + p] - mean, 2);
                double sd = Math.sqrt(ss / cnt + eps);
                for (int ch = gr * cpg; ch < (gr + 1) * cpg; ch++)
                    for (int p = 0; p < sp; p++) {
                        int f = (i * c + ch) * sp + p;
                        double v = (xd[f] - mean) / sd * g[ch] + b[ch];
                        y[f] = (float) (silu ? v * sigmoid(v) : v);
                    }
            }
        return y;
    }

    /** [1, 2, 3, 4] normalised: (x - 2.5) / sqrt(1.25). */
    static float[] hand4() {
        double s = Math.sqrt(1.25);
        return new float[] {(float) (-1.5 / s), (float) (-0.5 / s), (float) (0.5 / s), (float) (1.5 / s)};
    }

    @Test
    void groupNormHandWorked() {
        // one group of [1, 2, 3, 4]: mean 2.5, biased variance 1.25
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4}, 1, 4, 1, 1);
        Tensor ones = Tensor.of(new float[] {1, 1, 1, 1}, 4), zeros = Tensor.zeros(4);
        float[] z = hand4();
        assertClose("groupNorm 1 group", Tensor.of(z, 1, 4, 1, 1),
                cpu.groupNorm(x, 1, ones, zeros, 0f, false), 1e-7);
        // two groups {1,2}, {3,4}: each (-1, 1) / sqrt(0.25 + eps), gamma 2, beta 1
        Tensor twos = Tensor.of(new float[] {2, 2, 2, 2}, 4);
        float t = (float) (1 / Math.sqrt(0.25 + 1e-5));
        assertClose("groupNorm 2 groups", Tensor.of(new float[] {1 - t, 1 + t, 1 - t, 1 + t}, 1, 4, 1, 1),
                cpu.groupNorm(x, 2, twos, ones, 1e-5f, false), 1e-6);
    }

    @Test
    void groupNormShapesAndSilu() {
        int[][] shapes = {{2, 6, 3, 5}, {2, 4}, {1, 8, 1, 1}, {2, 6, 7}, {2, 64, 9, 11}};
        int[] groups = {3, 2, 4, 2, 32};
        for (int i = 0; i < shapes.length; i++) {
            int c = shapes[i][1];
            Tensor x = Ref.randn(i, shapes[i]), g = Ref.randn(100 + i, c), b = Ref.randn(200 + i, c);
            for (boolean silu : new boolean[] {false, true}) {
                float[] expected = naiveGroupNorm(x, groups[i], g.floats(), b.floats(), 1e-6, silu);
                assertClose("groupNorm " + x + " silu " + silu, Tensor.of(expected, shapes[i]),
                        cpu.groupNorm(x, groups[i], g, b, 1e-6f, silu), 3e-6);
            }
        }
        assertThrows(IllegalArgumentException.class, () -> cpu.groupNorm(Tensor.zeros(1, 6, 2, 2), 4, Tensor.zeros(6), Tensor.zeros(6), 1e-5f, false));
        assertThrows(IllegalArgumentException.class, () -> cpu.groupNorm(Tensor.zeros(1, 6, 2, 2), 3, Tensor.zeros(5), Tensor.zeros(6), 1e-5f, false));
    }

    @Test
    void normsStayAccurateOnLargeMeans() {
        // values 1000 + N(0, 1e-2): float accumulation of sum/sumsq would lose the variance entirely
        float[] v = Ref.random(3, 2 * 4 * 256);
        for (int i = 0; i < v.length; i++) v[i] = 1000f + 0.01f * v[i];
        Tensor x = Tensor.of(v, 2, 4, 16, 16);
        Tensor g = Ref.randn(4, 4), b = Ref.randn(5, 4);
        assertClose("groupNorm, mean 1000 sd 0.01", Tensor.of(naiveGroupNorm(x, 2, g.floats(), b.floats(), 1e-6, false), 2, 4, 16, 16),
                cpu.groupNorm(x, 2, g, b, 1e-6f, false), 1e-6); // a float sum / sum of squares would be off by O(1) here
        Tensor rows = Tensor.of(v, 8, 256);
        Tensor g2 = Ref.randn(6, 256), b2 = Ref.randn(7, 256);
        assertClose("layerNorm, mean 1000 sd 0.01", Tensor.of(naiveLayerNorm(v, 8, 256, g2.floats(), b2.floats(), 1e-6), 8, 256),
                cpu.layerNorm(rows, g2, b2, 1e-6f), 1e-6);
    }

    static float[] naiveLayerNorm(float[] x, int rows, int d, float[] g, float[] b, double eps) {
        float[] y = new float[x.length];
        for (int r = 0; r < rows; r++) {
            double s = 0, ss = 0;
            for (int i = 0; i < d; i++) s += x[r * d + i];
            double mean = s / d;
            for (int i = 0; i < d; i++) ss += Math.pow(x[r * d + i] - mean, 2);
            double sd = Math.sqrt(ss / d + eps);
            for (int i = 0; i < d; i++) y[r * d + i] = (float) ((x[r * d + i] - mean) / sd * (g == null ? 1 : g[i]) + (b == null ? 0 : b[i]));
        }
        return y;
    }

    @Test
    void layerNorm() {
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4}, 1, 4);
        assertClose("layerNorm hand", Tensor.of(hand4(), 1, 4),
                cpu.layerNorm(x, Tensor.of(new float[] {1, 1, 1, 1}, 4), null, 0f), 1e-7);
        for (int[] shape : new int[][] {{2, 3, 17}, {5}, {1, 1, 1}, {4, 77, 64}}) {
            int d = shape[shape.length - 1], rows = (int) (Tensor.zeros(shape).numel() / d);
            Tensor xs = Ref.randn(d, shape), g = Ref.randn(d + 1, d), b = Ref.randn(d + 2, d);
            assertClose("layerNorm " + xs, Tensor.of(naiveLayerNorm(xs.floats(), rows, d, g.floats(), b.floats(), 1e-5), shape),
                    cpu.layerNorm(xs, g, b, 1e-5f), 2e-6);
        }
        assertThrows(IllegalArgumentException.class, () -> cpu.layerNorm(Tensor.zeros(2, 4), Tensor.zeros(3), null, 1e-5f));
    }

    @Test
    void elementwiseActivations() {
        float[] v = new float[301];
        for (int i = 0; i < v.length; i++) v[i] = (i - 150) / 15f; // [-10, 10]
        Tensor x = Tensor.of(v, 7, 43);
        float[] silu = new float[v.length], gelu = new float[v.length], quick = new float[v.length], exp = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            silu[i] = (float) (v[i] * sigmoid(v[i]));
            gelu[i] = (float) (0.5 * v[i] * (1 + ErfTest.erfSeries(v[i] / Math.sqrt(2))));
            quick[i] = (float) (v[i] * sigmoid(1.702 * v[i]));
            exp[i] = (float) Math.exp(v[i]);
        }
        assertClose("silu", Tensor.of(silu, 7, 43), cpu.silu(x), 2e-6);
        assertClose("gelu", Tensor.of(gelu, 7, 43), cpu.gelu(x), 1e-6);
        assertClose("quickGelu", Tensor.of(quick, 7, 43), cpu.quickGelu(x), 2e-6);
        assertClose("exp", Tensor.of(exp, 7, 43), cpu.exp(x), 2e-3); // e^10 = 22026: 2e-3 is 1 ulp there
        float[] e = cpu.exp(x).floats();
        for (int i = 0; i < v.length; i++) assertTrue(Math.abs(e[i] - exp[i]) <= Math.ulp(exp[i]), "exp ulp at " + v[i]);
        // hand-worked points
        assertEquals(0.7310586f, cpu.silu(Tensor.scalar(1f)).item(), 1e-7f);   // 1 / (1 + e^-1)
        assertEquals(0f, cpu.gelu(Tensor.scalar(0f)).item(), 0f);
        assertEquals(1.9544997f, cpu.gelu(Tensor.scalar(2f)).item(), 1e-7f);  // 0.5*2*(1+erf(sqrt 2)), erf(sqrt 2) = 0.9544997361
        assertEquals(0, cpu.silu(Tensor.zeros(0, 3)).numel());
    }

    @Test
    void geglu() {
        Tensor x = Ref.randn(9, 2, 3, 10);
        float[] xd = x.floats(), y = new float[2 * 3 * 5];
        for (int r = 0; r < 6; r++)
            for (int i = 0; i < 5; i++) {
                double g = xd[r * 10 + 5 + i];
                y[r * 5 + i] = (float) (xd[r * 10 + i] * 0.5 * g * (1 + ErfTest.erfSeries(g / Math.sqrt(2))));
            }
        assertClose("geglu", Tensor.of(y, 2, 3, 5), cpu.geglu(x), 2e-6);
        assertThrows(IllegalArgumentException.class, () -> cpu.geglu(Tensor.zeros(2, 3)));
    }

    @Test
    void softmax() {
        double z = Math.exp(1) + Math.exp(2) + Math.exp(3);
        assertClose("softmax hand", Tensor.of(new float[] {(float) (Math.exp(1) / z), (float) (Math.exp(2) / z), (float) (Math.exp(3) / z)}, 3),
                cpu.softmax(Tensor.of(new float[] {1, 2, 3}, 3)), 1e-7);
        // huge logits (no overflow thanks to the max shift) and -inf (masked) entries
        Tensor big = Tensor.of(new float[] {1000, 1001, Float.NEGATIVE_INFINITY, 1000}, 1, 4);
        double zb = 2 + Math.E;
        assertClose("softmax large", Tensor.of(new float[] {(float) (1 / zb), (float) (Math.E / zb), 0, (float) (1 / zb)}, 1, 4), cpu.softmax(big), 1e-7);
        Tensor x = Ref.randn(4, 3, 5, 33);
        float[] xd = x.floats(), y = new float[xd.length];
        for (int r = 0; r < 15; r++) {
            double s = 0;
            for (int i = 0; i < 33; i++) s += Math.exp(xd[r * 33 + i]);
            for (int i = 0; i < 33; i++) y[r * 33 + i] = (float) (Math.exp(xd[r * 33 + i]) / s);
        }
        assertClose("softmax random", Tensor.of(y, 3, 5, 33), cpu.softmax(x), 1e-7);
    }

    /** softmax(Q Kᵀ / √d) V in double, one query row at a time: the row's weights, then their sum over V. */
    static float[] naiveAttention(Tensor q, Tensor k, Tensor v, boolean causal) {
        int b = q.dim(0), h = q.dim(1), sq = q.dim(2), d = q.dim(3), sk = k.dim(2), dv = v.dim(3);
        float[] qd = q.floats(), kd = k.floats(), vd = v.floats(), y = new float[b * h * sq * dv];
        for (int row = 0; row < b * h * sq; row++) {
            int head = row / sq, visible = causal ? Math.min(sk, row % sq + 1) : sk;
            double[] weight = new double[visible];
            for (int j = 0; j < visible; j++) weight[j] = dot(qd, row * d, kd, (head * sk + j) * d, d) / Math.sqrt(d);
            double top = java.util.Arrays.stream(weight).max().orElse(0), total = 0;
            for (int j = 0; j < visible; j++) total += weight[j] = Math.exp(weight[j] - top);
            double[] acc = new double[dv];
            for (int j = 0; j < visible; j++) {
                for (int c = 0; c < dv; c++) acc[c] += weight[j] / total * vd[(head * sk + j) * dv + c];
            }
            for (int c = 0; c < dv; c++) y[row * dv + c] = (float) acc[c];
        }
        return y;
    }

    private static double dot(float[] a, int ao, float[] b, int bo, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) s += (double) a[ao + i] * b[bo + i];
        return s;
    }

    @Test
    void attentionCausalAndNot() {
        int[][] cases = { // b, h, sq, sk, d, dv
                {2, 3, 5, 7, 8, 8}, {1, 2, 7, 3, 5, 6}, {2, 2, 70, 70, 16, 16}, {1, 2, 130, 77, 40, 40}, {1, 1, 1, 1, 4, 4},
                // keys in several blocks of CpuAttention.KB (online softmax across blocks, causal rows masked in later blocks)
                {1, 2, 300, 600, 9, 35}, {1, 1, 520, 520, 8, 3},
        };
        for (int[] c : cases) {
            Tensor q = Ref.randn(c[2], c[0], c[1], c[2], c[4]), k = Ref.randn(c[3] + 50, c[0], c[1], c[3], c[4]);
            Tensor v = Ref.randn(c[3] + 99, c[0], c[1], c[3], c[5]);
            for (boolean causal : new boolean[] {false, true}) {
                assertClose("attention " + java.util.Arrays.toString(c) + " causal " + causal,
                        Tensor.of(naiveAttention(q, k, v, causal), c[0], c[1], c[2], c[5]), cpu.attention(q, k, v, causal), 3e-6);
            }
        }
        // hand-worked: one query, keys giving scores 0 and ln 3 * sqrt(d)/... -> weights 1/4, 3/4
        float l = (float) (Math.log(3) * 2); // d = 4, scale 1/2
        Tensor q = Tensor.of(new float[] {1, 0, 0, 0}, 1, 1, 1, 4);
        Tensor k = Tensor.of(new float[] {0, 0, 0, 0, l, 0, 0, 0}, 1, 1, 2, 4);
        Tensor v = Tensor.of(new float[] {4, 0, 0, 8}, 1, 1, 2, 2);
        assertClose("attention hand", Tensor.of(new float[] {1, 6}, 1, 1, 1, 2), cpu.attention(q, k, v, false), 1e-6);
        // causal: query 0 sees key 0 only
        Tensor q2 = Tensor.of(new float[] {1, 0, 0, 0, 1, 0, 0, 0}, 1, 1, 2, 4);
        assertClose("attention causal hand", Tensor.of(new float[] {4, 0, 1, 6}, 1, 1, 2, 2), cpu.attention(q2, k, v, true), 1e-6);
        assertThrows(IllegalArgumentException.class, () -> cpu.attention(Tensor.zeros(1, 1, 2, 4), Tensor.zeros(1, 1, 3, 5), Tensor.zeros(1, 1, 3, 4), false));
    }

    /**
     * attentionHeads reads the heads in place in [B, S, H·D]: exactly the default's split into
     * [B, H, S, D], attention and merge (the same values through the same kernel), including a
     * value head size other than the query's and several query and key blocks.
     */
    @Test
    void attentionHeadsInPlaceEqualsPermuteAttentionPermute() {
        attentionHeadsAgainstPermutes(0);
    }

    /**
     * {@code tolerance} 0: bit for bit. The Vector API kernels (VectorKernelCheck) pass 1e-6: their
     * exp and lane sums give results that depend on whether C2 has compiled them yet (the Java
     * fallback and the intrinsic round differently), so two calls may differ in the last bit.
     */
    void attentionHeadsAgainstPermutes(double tolerance) {
        int[][] cases = {{2, 70, 77, 3, 8, 8}, {1, 300, 600, 2, 9, 35}, {2, 5, 7, 4, 16, 5}}; // b, sq, sk, heads, d, dv
        for (int[] c : cases) {
            int b = c[0], sq = c[1], sk = c[2], h = c[3], d = c[4], dv = c[5];
            Tensor q = Ref.randn(c[1] + 1, b, sq, h * d), k = Ref.randn(c[2] + 2, b, sk, h * d), v = Ref.randn(c[2] + 3, b, sk, h * dv);
            Tensor o = cpu.attention(cpu.permute(q.reshape(b, sq, h, d), 0, 2, 1, 3), cpu.permute(k.reshape(b, sk, h, d), 0, 2, 1, 3),
                    cpu.permute(v.reshape(b, sk, h, dv), 0, 2, 1, 3), false);
            Tensor expected = cpu.permute(o, 0, 2, 1, 3).reshape(b, sq, h * dv), got = cpu.attentionHeads(q, k, v, h);
            if (tolerance == 0) {
                org.junit.jupiter.api.Assertions.assertArrayEquals(expected.toFloatArray(), got.toFloatArray(), java.util.Arrays.toString(c));
            } else {
                assertClose("attentionHeads " + java.util.Arrays.toString(c), expected, got, tolerance);
            }
        }
    }
}
