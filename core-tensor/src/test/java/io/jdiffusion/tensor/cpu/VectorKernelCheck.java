package io.jdiffusion.tensor.cpu;

import io.jdiffusion.tensor.Tensor;

import static io.jdiffusion.tensor.testing.TensorAssert.assertClose;

/**
 * Runs in a child JVM started with {@code --add-modules jdk.incubator.vector} (see
 * {@link VectorKernelTest}): the Vector API GEMM kernel on the edge shapes of {@link CpuGemmTest},
 * and the GEMM-based backend ops against their naive loops. Exits 0 only when all agree.
 */
public final class VectorKernelCheck {
    private VectorKernelCheck() {}

    public static void main(String[] args) {
        try {
            if (!CpuGemm.VECTOR || !CpuBackend.gemmKernel().equals("vector-api")) {
                throw new AssertionError("the Vector API kernel is not active in this JVM");
            }
            int n = 0;
            for (int[] s : CpuGemmTest.SHAPES) {
                for (boolean bt : new boolean[] {false, true}) {
                    CpuGemmTest.check(CpuGemm.Impl.VECTOR, s[0], s[1], s[2], bt, 0, true);
                    CpuGemmTest.check(CpuGemm.Impl.VECTOR, s[0], s[1], s[2], bt, 3, false);
                    n += 2;
                }
            }
            CpuBackend cpu = CpuBackend.INSTANCE;
            Tensor x = Ref.randn(1, 2, 5, 9, 7), w = Ref.randn(2, 33, 5, 3, 3), b = Ref.randn(3, 33);
            assertClose("conv2d", Tensor.of(CpuLinalgTest.naiveConv(x, w, b, 2, 1), 2, 33, 5, 4), cpu.conv2d(x, w, b, 2, 1), 1e-4);
            // stride 1 with rows wider than a 32-pixel panel: panels inside one output row (copied per
            // tap, clipped at the left and right padding) and panels that cross into the next row
            int[][] wide = {{5, 9, 70, 3, 1}, {3, 6, 40, 5, 2}, {4, 4, 64, 3, 0}};
            for (int[] c : wide) {
                int ci = c[0], hh = c[1], ww = c[2], kk = c[3], pad = c[4], ho = hh + 2 * pad - kk + 1, wo = ww + 2 * pad - kk + 1;
                Tensor xw = Ref.randn(10 + ci, 2, ci, hh, ww), ww3 = Ref.randn(20 + ci, 19, ci, kk, kk), bw = Ref.randn(30 + ci, 19);
                assertClose("conv2d stride 1 " + ww + " wide k" + kk + " p" + pad, Tensor.of(CpuLinalgTest.naiveConv(xw, ww3, bw, 1, pad), 2, 19, ho, wo),
                        cpu.conv2d(xw, ww3, bw, 1, pad), 1e-4);
            }
            Tensor in = Ref.randn(4, 3, 70, 45), lw = Ref.randn(5, 37, 45), lb = Ref.randn(6, 37);
            assertClose("linear", Tensor.of(CpuLinalgTest.naiveLinear(in.floats(), 210, 45, lw.floats(), 37, lb.floats()), 3, 70, 37),
                    cpu.linear(in, lw, lb), 1e-4);
            Tensor q = Ref.randn(7, 2, 3, 70, 40), k = Ref.randn(8, 2, 3, 45, 40), v = Ref.randn(9, 2, 3, 45, 24);
            for (boolean causal : new boolean[] {false, true}) {
                assertClose("attention causal " + causal, Tensor.of(CpuNormActivationTest.naiveAttention(q, k, v, causal), 2, 3, 70, 24),
                        cpu.attention(q, k, v, causal), 3e-6);
            }
            Tensor q2 = Ref.randn(10, 1, 2, 300, 40), k2 = Ref.randn(11, 1, 2, 600, 40), v2 = Ref.randn(12, 1, 2, 600, 70);
            for (boolean causal : new boolean[] {false, true}) { // several key blocks: the online softmax with the vector exp
                assertClose("attention 300x600 causal " + causal, Tensor.of(CpuNormActivationTest.naiveAttention(q2, k2, v2, causal), 1, 2, 300, 70),
                        cpu.attention(q2, k2, v2, causal), 3e-6);
            }
            CpuNormActivationTest norms = new CpuNormActivationTest(); // the vector output passes of the norms, and attentionHeads
            norms.groupNormHandWorked();
            norms.groupNormShapesAndSilu();
            norms.normsStayAccurateOnLargeMeans();
            norms.layerNorm();
            norms.attentionHeadsAgainstPermutes(1e-6);
            geluMatchesScalar(cpu);
            PackedWeightsTest.runAll();
            WinogradConvTest.runAll();
            System.out.println("vector-api checks passed: " + n + " GEMMs, conv2d, linear, attention, packed weights, Winograd convolutions, norms, gelu");
        } catch (Throwable t) {
            t.printStackTrace(System.out);
            System.exit(1);
        }
    }

    /** How far the float-lane GELU may be from the double-precision scalar one, in float ulps (8 measured, near x = −4). */
    static final int GELU_ULPS = 12;

    /**
     * The Vector API GELU (float lanes) against the scalar {@link CpuBackend#gelu(float)} (double
     * precision, rounded once): within {@link #GELU_ULPS} float ulps everywhere, on every range of
     * Cody's erf, its boundaries, signed zeros, infinities and NaN, through gelu and geglu. Below
     * the normal floats (|gelu| under 1e-37, x < −13) only an absolute 1e-44, a few subnormal steps,
     * is asked: there both paths round exp(−x²/2) to a subnormal with few significant bits.
     */
    static void geluMatchesScalar(CpuBackend cpu) {
        java.util.List<Float> v = new java.util.ArrayList<>(java.util.List.of(0f, -0f, 0.5f, -0.5f, 4f, -4f, 27f, -27f, 1e-30f, -1e-30f,
                Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, Float.MAX_VALUE, -Float.MAX_VALUE));
        for (float x = -40f; x <= 40f; x += 0.01953125f) v.add(x);
        // every 61st float bit pattern of [-20, 20]: dense around each range boundary of erf
        for (int b = 0; b < Float.floatToIntBits(20f); b += 61) {
            v.add(Float.intBitsToFloat(b));
            v.add(-Float.intBitsToFloat(b));
        }
        float[] r = Ref.random(77, 4001);
        for (float x : r) v.add(x * 3f);
        float[] xs = new float[v.size()];
        for (int i = 0; i < xs.length; i++) xs[i] = v.get(i);
        float[] got = cpu.gelu(Tensor.of(xs, xs.length)).toFloatArray();
        double worst = 0;
        float worstX = 0;
        for (int i = 0; i < xs.length; i++) {
            float want = CpuBackend.gelu(xs[i]);
            if (Float.compare(got[i], want) == 0) continue;
            boolean tiny = Math.abs(want) < 1e-37f && Math.abs(got[i] - want) <= 1e-44f;
            double ulps = Math.abs(got[i] - want) / Math.ulp(want);
            if (!tiny && ulps > worst) {
                worst = ulps;
                worstX = xs[i];
            }
            if (!tiny && !(ulps <= GELU_ULPS)) throw new AssertionError("gelu(" + xs[i] + ") = " + got[i] + ", scalar " + want + ": " + ulps + " ulps");
        }
        System.out.println("gelu: " + xs.length + " inputs, at most " + worst + " ulps from the double-precision scalar path (at x = " + worstX + ")");
        int d = 37; // geglu rows of 2·37: vectors and a scalar tail
        Tensor gg = Ref.randn(78, 5, 2 * d);
        float[] in = gg.toFloatArray(), out = cpu.geglu(gg).toFloatArray();
        for (int row = 0; row < 5; row++) {
            for (int i = 0; i < d; i++) {
                float want = in[row * 2 * d + i] * CpuBackend.gelu(in[row * 2 * d + d + i]), g = out[row * d + i];
                if (!(Math.abs(g - want) <= GELU_ULPS * Math.ulp(want))) throw new AssertionError("geglu row " + row + " col " + i + ": " + g + ", scalar " + want);
            }
        }
    }
}
