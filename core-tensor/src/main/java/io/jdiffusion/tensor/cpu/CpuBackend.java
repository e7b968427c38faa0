package io.jdiffusion.tensor.cpu;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Device;
import io.jdiffusion.tensor.OpChecks;
import io.jdiffusion.tensor.Shapes;
import io.jdiffusion.tensor.Tensor;

import java.util.Arrays;
import java.util.List;

/**
 * The reference backend: F32 on the heap, loops split over the cores. Reads inputs of any CPU
 * storage (mapped F16/BF16 weights past the {@link WeightCache} budget are converted while reading). Every other backend is tested
 * against this one.
 *
 * <p>matmul, linear, conv2d (im2col) and attention run on the packed GEMM of {@link CpuGemm};
 * its fast Vector API kernel is used when the JVM is started with
 * {@code --add-modules jdk.incubator.vector} ({@link #gemmKernel()}). Normalisation statistics and
 * reductions accumulate in double. Weights in native or mapped memory (safetensors F16/BF16/F32)
 * are converted to F32 once, on upload, within a budget ({@link WeightCache}).
 */
public final class CpuBackend implements Backend {
    public static final CpuBackend INSTANCE = new CpuBackend();

    @Override public String name() { return "cpu"; }

    /**
     * Which GEMM inner loops this JVM runs: "vector-api" (packed register-blocked kernel, when the
     * JVM was started with {@code --add-modules jdk.incubator.vector}) or "auto-vectorised" (the
     * default; no incubator module, no start-up warning, several times slower). For logs.
     */
    public static String gemmKernel() { return CpuGemm.VECTOR ? "vector-api" : "auto-vectorised"; }

    /**
     * Runs {@code load} (a component being built) with its weights read where they lie, mapped F16/BF16
     * widened on every use instead of once: for a component used once per picture (the text
     * encoders), so that the F32 weight budget ({@link WeightCache}) goes to the UNet, run at every step.
     */
    public static <T> T withWeightsInPlace(java.util.function.Supplier<T> load) { return WeightCache.inPlace(load); }

    /** Bytes of F32 weights this JVM keeps converted at most ({@code -Djdiffusion.cpu.weightCacheMiB}, default a share of the heap). */
    public static long weightCacheBudgetBytes() { return WeightCache.budgetBytes(); }

    /**
     * Says that a component's converted weights were just dropped (unloaded): the next upload past
     * the weight cache's budget first lets the collector give their bytes back, instead of leaving
     * the next component's weights unconverted for a budget that is free in fact.
     */
    public static void weightsDropped() { WeightCache.dropped(); }

    /** How many threads the backend's parallel loops use (the common fork/join pool plus the caller). */
    public static int threads() { return Parallel.THREADS; }

    @Override public Device device() { return Device.CPU; }
    @Override public DType computeType() { return DType.F32; }

    private static Tensor out(float[] data, int... shape) { return Tensor.of(data, shape); }

    private static float[] alloc(long n) { return new float[Math.toIntExact(n)]; }

    @Override
    public Tensor upload(Tensor t, DType dtype) {
        OpChecks.upload(t);
        // Weights in native or mapped memory are converted to F32 arrays once, here, within a budget;
        // other CPU storage is read in place, and only tensors of other devices are copied.
        if (t.device().equals(Device.CPU)) return WeightCache.convertOnce(t);
        return out(t.toFloatArray(), t.shape());
    }

    @Override public Tensor zeros(int... shape) { return Tensor.zeros(shape); }

    @Override
    public Tensor full(float value, int... shape) {
        float[] d = alloc(Shapes.numel(shape));
        Arrays.fill(d, value);
        return out(d, shape);
    }

    // ---- linear algebra ----------------------------------------------------------------------

    /** Below this many multiply-adds per matrix, batched matmuls run one matrix per core instead of splitting each. */
    private static final long SMALL_GEMM = 1L << 20;

    @Override
    public Tensor matmul(Tensor a, Tensor b) {
        int[] outShape = OpChecks.matmul(a, b);
        // numpy/torch: a vector operand gains a unit dimension that is dropped from the result
        boolean aVec = a.rank() == 1, bVec = b.rank() == 1;
        int[] as = aVec ? new int[] {1, a.dim(0)} : a.shape();
        int[] bs = bVec ? new int[] {b.dim(0), 1} : b.shape();
        int m = as[as.length - 2], k = as[as.length - 1], n = bs[bs.length - 1];
        int[] ab = Arrays.copyOf(as, as.length - 2), bb = Arrays.copyOf(bs, bs.length - 2);
        int[] batch = Shapes.broadcast(ab, bb);
        int nb = Math.toIntExact(Shapes.numel(batch));
        float[] ad = a.floats(), bd = b.floats();
        float[] c = alloc((long) nb * m * n);
        int[] aIdx = BroadcastIndex.map(batch, ab), bIdx = BroadcastIndex.map(batch, bb);
        long work = (long) m * n * k;
        if (nb > 1 && work < SMALL_GEMM) {
            Parallel.forRange(nb, work, i -> CpuGemm.sgemm(m, n, k, ad, aIdx[i] * m * k, k, bd, bIdx[i] * k * n, n, false,
                    c, i * m * n, n, false, CpuGemm.Impl.AUTO));
        } else {
            for (int i = 0; i < nb; i++) CpuGemm.sgemm(m, n, k, ad, aIdx[i] * m * k, bd, bIdx[i] * k * n, false, c, i * m * n);
        }
        return out(c, outShape);
    }

    @Override
    public Tensor linear(Tensor x, Tensor w, Tensor bias) {
        return linear(x, w, bias, null, OpChecks.linear(x, w, bias));
    }

    /** linear + residual with the adds done on each finished tile of the GEMM (the same sums as linear, then add). */
    @Override
    public Tensor linearAdd(Tensor x, Tensor w, Tensor bias, Tensor residual) {
        return linear(x, w, bias, residual, OpChecks.linearAdd(x, w, bias, residual));
    }

    private static Tensor linear(Tensor x, Tensor w, Tensor bias, Tensor residual, int[] outShape) {
        int in = x.dim(-1), o = w.dim(0);
        int rows = Math.toIntExact(Shapes.numel(Arrays.copyOf(x.shape(), x.rank() - 1)));
        float[] c = alloc((long) rows * o);
        float[] bd = bias == null ? null : bias.floats(), rd = residual == null ? null : residual.floats();
        CpuGemm.MicroKernel kern = CpuGemm.kernel();
        CpuGemm.Epilogue ep = bd == null && rd == null ? null : (bi, i0, mc, j0, nc) -> {
            for (int i = i0; i < i0 + mc; i++) {
                int base = i * o;
                if (bd != null) for (int j = j0; j < j0 + nc; j++) c[base + j] += bd[j];
                if (rd != null) for (int j = j0; j < j0 + nc; j++) c[base + j] += rd[base + j];
            }
        };
        CpuGemm.gemm(rows, o, in, GemmOperand.lines(x.floats(), 0, in), new GemmOperand[] {weightLines(w, kern.nr(), in, rows <= CpuGemm.MC_PREPACKED)},
                c, new int[] {0}, o, true, kern, false, ep);
        return out(c, outShape);
    }

    /**
     * A weight's rows as GEMM lines of depth {@code ld}: read in place when it was packed at load in
     * panels of {@code width} ({@link WeightCache}), else packed per call from its elements: from
     * the file's memory when it stayed there and {@code widenAsPacked} (the product has one row tile,
     * so its panels are packed once: a linear layer over the text encoders' 2 × 77 tokens; a weight
     * packed by every tile, as a convolution's is, is widened once into a copy instead).
     */
    private static GemmOperand weightLines(Tensor w, int width, int ld, boolean widenAsPacked) {
        if (w.storage() instanceof PanelStorage ps && w.offset() == 0 && ps.width() == width && ps.cols() == ld) {
            return new GemmOperand.Prepacked(ps);
        }
        if (widenAsPacked && WeightCache.readableByPool(w)) return GemmOperand.stored(w.storage(), w.offset(), ld);
        return GemmOperand.lines(w.floats(), 0, ld);
    }

    /**
     * Convolution as an implicit GEMM per image: y[o, (oy, ox)] = W[o, (ci, ky, kx)] · im2col(x),
     * where the im2col matrix is never built: the GEMM packs its panels straight from the image
     * ({@link GemmOperand#im2col}); 1×1 stride-1 convolutions read the image as B directly. The
     * images' tiles share one parallel range; the bias is added to each tile as it is finished.
     * 3×3 convolutions at stride 1 and padding 1 with enough channels run as Winograd's F(2×2, 3×3)
     * ({@link WinogradConv}): 2.25× fewer multiply-adds, the same sums up to rounding.
     */
    @Override
    public Tensor conv2d(Tensor x, Tensor w, Tensor bias, int stride, int padding) {
        OpChecks.conv2d(x, w, bias, stride, padding);
        return conv2d(x, w, bias, stride, padding, null);
    }

    /** conv2d + residual (same shape, or [N, O, 1, 1]) with the adds done on each finished tile (the same sums as conv2d, then add). */
    @Override
    public Tensor conv2dAdd(Tensor x, Tensor w, Tensor bias, int stride, int padding, Tensor residual) {
        OpChecks.conv2dAdd(x, w, bias, stride, padding, residual);
        return conv2d(x, w, bias, stride, padding, residual);
    }

    private static Tensor conv2d(Tensor x, Tensor w, Tensor bias, int stride, int padding, Tensor residual) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3), o = w.dim(0);
        if (!WinogradConv.applies(n, c, o, h, wd, w.dim(2), w.dim(3), stride, padding)) {
            return im2colConv2d(x, w, bias, stride, padding, residual);
        }
        // 3×3 at stride 1 and padding 1: the output is the input's size (at least 256 tiles, so never 1×1)
        float[] rd = residual == null ? null : residual.floats();
        boolean perChannel = rd != null && residual.dim(2) * residual.dim(3) == 1;
        return out(WinogradConv.conv(x.floats(), n, c, h, wd, w, bias == null ? null : bias.floats(), rd, perChannel), n, o, h, wd);
    }

    /** The convolution as an implicit GEMM (every shape; {@link WinogradConv} takes the 3×3 ones it can). */
    static Tensor im2colConv2d(Tensor x, Tensor w, Tensor bias, int stride, int padding, Tensor residual) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3);
        int o = w.dim(0), kh = w.dim(2), kw = w.dim(3);
        int ho = (h + 2 * padding - kh) / stride + 1, wo = (wd + 2 * padding - kw) / stride + 1;
        float[] xd = x.floats();
        float[] bd = bias == null ? null : bias.floats(), rd = residual == null ? null : residual.floats();
        boolean perChannel = rd != null && residual.dim(2) * residual.dim(3) == 1 && ho * wo != 1;
        float[] y = alloc((long) n * o * ho * wo);
        int ck = c * kh * kw, hw = ho * wo;
        boolean pointwise = kh == 1 && kw == 1 && stride == 1 && padding == 0;
        CpuGemm.MicroKernel kern = CpuGemm.kernel();
        GemmOperand[] images = new GemmOperand[n];
        int[] yOffs = new int[n];
        for (int b = 0; b < n; b++) {
            int xOff = b * c * h * wd;
            yOffs[b] = b * o * hw;
            images[b] = pointwise ? GemmOperand.depthRows(xd, xOff, hw) : GemmOperand.im2col(xd, xOff, h, wd, kh, kw, stride, padding, wo);
        }
        CpuGemm.Epilogue ep = bd == null && rd == null ? null : (b, o0, mc, j0, nc) -> {
            for (int oc = o0; oc < o0 + mc; oc++) {
                int base = yOffs[b] + oc * hw;
                if (bd != null) {
                    float bv = bd[oc];
                    for (int j = j0; j < j0 + nc; j++) y[base + j] += bv;
                }
                if (perChannel) {
                    float rv = rd[b * o + oc];
                    for (int j = j0; j < j0 + nc; j++) y[base + j] += rv;
                } else if (rd != null) {
                    for (int j = j0; j < j0 + nc; j++) y[base + j] += rd[base + j];
                }
            }
        };
        CpuGemm.gemm(o, hw, ck, weightLines(w, kern.mr(), ck, false), images, y, yOffs, hw, true, kern, false, ep);
        return out(y, n, o, ho, wo);
    }

    // ---- normalisation and activations -------------------------------------------------------

    @Override
    public Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps, boolean silu) {
        OpChecks.groupNorm(x, groups, gamma, beta);
        int n = x.dim(0), c = x.dim(1);
        int spatial = Math.toIntExact(Shapes.numel(Arrays.copyOfRange(x.shape(), 2, x.rank())));
        int cpg = c / groups, groupSize = cpg * spatial;
        float[] xd = x.floats(), g = gamma == null ? null : gamma.floats(), bt = beta == null ? null : beta.floats();
        float[] y = alloc(x.numel());
        Parallel.forRange(n * groups, groupSize, ng -> {
            int base = ng * groupSize;
            // two passes in double: the mean, then the centred sum of squares (no cancellation)
            double mean = sum4(xd, base, groupSize) / groupSize;
            double inv = 1.0 / Math.sqrt(squares4(xd, base, groupSize, mean) / groupSize + eps);
            int c0 = (ng % groups) * cpg;
            for (int ci = 0; ci < cpg; ci++) {
                double sc = (g == null ? 1.0 : g[c0 + ci]) * inv, sh = bt == null ? 0.0 : bt[c0 + ci];
                int off = base + ci * spatial;
                if (silu && CpuGemm.VECTOR) { // the scalar exp is most of the time; the plain affine pass is as fast scalar
                    VectorNorm.affineSilu(xd, y, off, spatial, mean, sc, sh);
                    continue;
                }
                for (int i = 0; i < spatial; i++) {
                    float v = (float) ((xd[off + i] - mean) * sc + sh);
                    y[off + i] = silu ? silu(v) : v;
                }
            }
        });
        return out(y, x.shape());
    }

    @Override
    public Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        OpChecks.layerNorm(x, gamma, beta);
        int d = x.dim(-1);
        int rows = Math.toIntExact(Shapes.numel(Arrays.copyOf(x.shape(), x.rank() - 1)));
        float[] xd = x.floats(), g = gamma == null ? null : gamma.floats(), bt = beta == null ? null : beta.floats();
        float[] y = alloc(x.numel());
        Parallel.forRange(rows, d, r -> {
            int base = r * d;
            double mean = sum4(xd, base, d) / d;
            double inv = 1.0 / Math.sqrt(squares4(xd, base, d, mean) / d + eps);
            for (int i = 0; i < d; i++) {
                double v = (xd[base + i] - mean) * inv;
                if (g != null) v *= g[i];
                if (bt != null) v += bt[i];
                y[base + i] = (float) v;
            }
        });
        return out(y, x.shape());
    }

    // The norms' two reductions (GroupNorm and LayerNorm), each in four partial double sums: one
    // chain of dependent double additions ran at a quarter of the core's speed (LayerNorm took 5x
    // PyTorch's time)

    /** Σ x[i] over [base, base+n), in double. */
    private static double sum4(float[] x, int base, int n) {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int i = 0;
        for (; i <= n - 4; i += 4) {
            s0 += x[base + i];
            s1 += x[base + i + 1];
            s2 += x[base + i + 2];
            s3 += x[base + i + 3];
        }
        for (; i < n; i++) s0 += x[base + i];
        return (s0 + s1) + (s2 + s3);
    }

    /** Σ (x[i] − c)² over [base, base+n), in double. */
    private static double squares4(float[] x, int base, int n, double c) {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int i = 0;
        for (; i <= n - 4; i += 4) {
            double t0 = x[base + i] - c, t1 = x[base + i + 1] - c, t2 = x[base + i + 2] - c, t3 = x[base + i + 3] - c;
            s0 += t0 * t0;
            s1 += t1 * t1;
            s2 += t2 * t2;
            s3 += t3 * t3;
        }
        for (; i < n; i++) {
            double t = x[base + i] - c;
            s0 += t * t;
        }
        return (s0 + s1) + (s2 + s3);
    }

    private interface FloatOp { float apply(float v); }

    private static final int CHUNK = 8192;

    private static Tensor map(Tensor x, FloatOp f) {
        float[] xd = x.floats();
        float[] y = alloc(x.numel());
        int n = y.length;
        Parallel.forRange((n + CHUNK - 1) / CHUNK, CHUNK, ci -> {
            int end = Math.min(n, (ci + 1) * CHUNK);
            for (int i = ci * CHUNK; i < end; i++) y[i] = f.apply(xd[i]);
        });
        return out(y, x.shape());
    }

    static float silu(float v) { return v / (1f + (float) Math.exp(-v)); }

    /**
     * 0.5 v (1 + erf(v / sqrt 2)) in double, rounded once; below v/√2 = −0.5, 1 + erf is taken as
     * erfc(|v|/√2) (1 − (1 − erfc) loses the tail: it was 0 from v ≈ −8.3 on).
     */
    static float gelu(float v) {
        double u = v * 0.7071067811865476;
        if (u <= -0.5 && u > -27) return (float) (0.5 * v * Erf.erfc(-u));
        return (float) (0.5 * v * (1.0 + Erf.erf(u)));
    }

    @Override public Tensor silu(Tensor x) { return map(x, CpuBackend::silu); }
    @Override public Tensor quickGelu(Tensor x) { return map(x, v -> v / (1f + (float) Math.exp(-1.702f * v))); }
    @Override public Tensor exp(Tensor x) { return map(x, v -> (float) Math.exp(v)); }
    @Override public Tensor affine(Tensor x, float scale, float shift) { return map(x, v -> v * scale + shift); }

    @Override
    public Tensor clamp(Tensor x, float min, float max) {
        OpChecks.clamp(min, max);
        return map(x, v -> Math.min(Math.max(v, min), max));
    }

    @Override
    public Tensor geglu(Tensor x) {
        int[] outShape = OpChecks.geglu(x);
        int d2 = x.dim(-1);
        int d = d2 / 2, rows = Math.toIntExact(Shapes.numel(Arrays.copyOf(x.shape(), x.rank() - 1)));
        float[] xd = x.floats();
        float[] y = alloc((long) rows * d);
        Parallel.forRange(rows, 8L * d, r -> geluTimes(xd, r * d2 + d, xd, r * d2, y, r * d, d));
        return out(y, outShape);
    }

    @Override
    public Tensor gelu(Tensor x) {
        float[] xd = x.floats();
        float[] y = alloc(x.numel());
        int n = y.length;
        Parallel.forRange((n + CHUNK - 1) / CHUNK, 8L * CHUNK, ci -> geluTimes(xd, ci * CHUNK, null, 0, y, ci * CHUNK, Math.min(CHUNK, n - ci * CHUNK)));
        return out(y, x.shape());
    }

    /** y[yOff + i] = gate[gOff + i] · gelu(x[xOff + i]) (gate null: 1), on the Vector API when the JVM has it. */
    static void geluTimes(float[] x, int xOff, float[] gate, int gOff, float[] y, int yOff, int n) {
        if (CpuGemm.VECTOR) {
            VectorGelu.geluTimes(x, xOff, gate, gOff, y, yOff, n);
            return;
        }
        for (int i = 0; i < n; i++) {
            float g = gelu(x[xOff + i]);
            y[yOff + i] = gate == null ? g : gate[gOff + i] * g;
        }
    }

    @Override
    public Tensor softmax(Tensor x) {
        OpChecks.softmax(x);
        int d = x.dim(-1), rows = Math.toIntExact(Shapes.numel(Arrays.copyOf(x.shape(), x.rank() - 1)));
        float[] xd = x.floats();
        float[] y = alloc(x.numel());
        Parallel.forRange(rows, 4L * d, r -> softmaxRow(xd, y, r * d, d, d));
        return out(y, x.shape());
    }

    /**
     * Softmax of src[base, base+len) into dst; elements [len, d) of the row are set to 0 (masked).
     * The maximum is subtracted first; the sum is accumulated in double.
     */
    private static void softmaxRow(float[] src, float[] dst, int base, int len, int d) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < len; i++) max = Math.max(max, src[base + i]);
        double sum = 0;
        for (int i = 0; i < len; i++) {
            float e = (float) Math.exp(src[base + i] - max);
            dst[base + i] = e;
            sum += e;
        }
        float inv = (float) (1.0 / sum);
        for (int i = 0; i < len; i++) dst[base + i] *= inv;
        if (len < d) Arrays.fill(dst, base + len, base + d, 0f);
    }

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, boolean causal) {
        OpChecks.attention(q, k, v);
        int b = q.dim(0), h = q.dim(1), sq = q.dim(2), d = q.dim(3), sk = k.dim(2), dv = v.dim(3);
        float[] y = alloc((long) b * h * sq * dv);
        if (sk == 0 || sq == 0) return out(y, b, h, sq, dv);
        CpuAttention.attention(q.floats(), k.floats(), v.floats(), y, b * h, sq, sk, d, dv, causal);
        return out(y, b, h, sq, dv);
    }

    /** The heads read and written in place in the [B, S, H·D] rows of the projections, without the default's four permutes. */
    @Override
    public Tensor attentionHeads(Tensor q, Tensor k, Tensor v, int heads) {
        boolean inPlace = q.rank() == 3 && k.rank() == 3 && v.rank() == 3 && heads > 0 && q.dim(2) % heads == 0
                && k.dim(2) == q.dim(2) && v.dim(2) % heads == 0 && k.dim(0) == q.dim(0) && v.dim(0) == q.dim(0) && v.dim(1) == k.dim(1);
        if (!inPlace) return Backend.super.attentionHeads(q, k, v, heads); // its checks name what is wrong
        int b = q.dim(0), sq = q.dim(1), sk = k.dim(1), d = q.dim(2) / heads, dv = v.dim(2) / heads;
        float[] y = alloc((long) b * sq * heads * dv);
        if (sk == 0 || sq == 0) return out(y, b, sq, heads * dv);
        CpuAttention.attention(q.floats(), k.floats(), v.floats(), y, b * heads, sq, sk, d, dv, false, heads);
        return out(y, b, sq, heads * dv);
    }

    // ---- elementwise -------------------------------------------------------------------------

    private enum Bin { ADD, SUB, MUL, DIV }

    private static Tensor binary(Tensor a, Tensor b, Bin op) {
        float[] ad = a.floats(), bd = b.floats();
        int[] s = Shapes.broadcast(a.shape(), b.shape());
        float[] y = alloc(Shapes.numel(s));
        if (y.length == 0) return out(y, s);
        if (Arrays.equals(a.shape(), b.shape())) {
            int n = y.length;
            Parallel.forRange((n + CHUNK - 1) / CHUNK, CHUNK, ci -> {
                int from = ci * CHUNK, len = Math.min(n, from + CHUNK) - from;
                run(op, ad, from, 1, bd, from, 1, y, from, len);
            });
            return out(y, s);
        }
        // Strides of each operand over the output's dimensions (0 where it is broadcast), then
        // adjacent dimensions that are contiguous in all three are merged so the inner loop is long.
        int r = s.length;
        long[] sa = Shapes.broadcastStrides(a.shape(), s), sb = Shapes.broadcastStrides(b.shape(), s);
        int[] dims = new int[r];
        long[] ta = new long[r], tb = new long[r];
        int nd = 0;
        for (int i = 0; i < r; i++) {
            if (s[i] == 1) continue;
            if (nd > 0 && ta[nd - 1] == sa[i] * s[i] && tb[nd - 1] == sb[i] * s[i]) {
                dims[nd - 1] *= s[i];
                ta[nd - 1] = sa[i];
                tb[nd - 1] = sb[i];
            } else {
                dims[nd] = s[i];
                ta[nd] = sa[i];
                tb[nd] = sb[i];
                nd++;
            }
        }
        if (nd == 0) {
            y[0] = apply(op, ad[0], bd[0]);
            return out(y, s);
        }
        int inner = dims[nd - 1], strideA = (int) ta[nd - 1], strideB = (int) tb[nd - 1];
        int outerCount = y.length / inner;
        int[] od = Arrays.copyOf(dims, nd - 1);
        long[] oa = Arrays.copyOf(ta, nd - 1), ob = Arrays.copyOf(tb, nd - 1);
        Parallel.forRange(outerCount, inner, row -> {
            long pa = 0, pb = 0;
            int rem = row;
            for (int i = od.length - 1; i >= 0; i--) {
                int idx = rem % od[i];
                rem /= od[i];
                pa += idx * oa[i];
                pb += idx * ob[i];
            }
            run(op, ad, (int) pa, strideA, bd, (int) pb, strideB, y, row * inner, inner);
        });
        return out(y, s);
    }

    private static float apply(Bin op, float x, float z) {
        return switch (op) {
            case ADD -> x + z;
            case SUB -> x - z;
            case MUL -> x * z;
            case DIV -> x / z;
        };
    }

    /** y[yo + i] = x[xo + i*xs] op z[zo + i*zs] for i < n (strides 0 or 1). */
    private static void run(Bin op, float[] x, int xo, int xs, float[] z, int zo, int zs, float[] y, int yo, int n) {
        if (xs == 1 && zs == 1) {
            switch (op) {
                case ADD -> { for (int i = 0; i < n; i++) y[yo + i] = x[xo + i] + z[zo + i]; }
                case SUB -> { for (int i = 0; i < n; i++) y[yo + i] = x[xo + i] - z[zo + i]; }
                case MUL -> { for (int i = 0; i < n; i++) y[yo + i] = x[xo + i] * z[zo + i]; }
                case DIV -> { for (int i = 0; i < n; i++) y[yo + i] = x[xo + i] / z[zo + i]; }
            }
        } else if (xs == 1 && zs == 0) {
            float zv = z[zo];
            switch (op) {
                case ADD -> { for (int i = 0; i < n; i++) y[yo + i] = x[xo + i] + zv; }
                case SUB -> { for (int i = 0; i < n; i++) y[yo + i] = x[xo + i] - zv; }
                case MUL -> { for (int i = 0; i < n; i++) y[yo + i] = x[xo + i] * zv; }
                case DIV -> { for (int i = 0; i < n; i++) y[yo + i] = x[xo + i] / zv; }
            }
        } else {
            for (int i = 0; i < n; i++) y[yo + i] = apply(op, x[xo + i * xs], z[zo + i * zs]);
        }
    }

    @Override public Tensor add(Tensor a, Tensor b) { return binary(a, b, Bin.ADD); }
    @Override public Tensor sub(Tensor a, Tensor b) { return binary(a, b, Bin.SUB); }
    @Override public Tensor mul(Tensor a, Tensor b) { return binary(a, b, Bin.MUL); }
    @Override public Tensor div(Tensor a, Tensor b) { return binary(a, b, Bin.DIV); }

    // ---- shape -------------------------------------------------------------------------------

    @Override
    public Tensor concat(int dim, List<Tensor> parts) {
        int[] os = OpChecks.concat(dim, parts);
        int[] s0 = parts.get(0).shape();
        int d = Shapes.normDim(dim, s0.length);
        long total = os[d];
        int outer = 1;
        for (int i = 0; i < d; i++) outer *= s0[i];
        int inner = 1;
        for (int i = d + 1; i < s0.length; i++) inner *= s0[i];
        float[] y = alloc(Shapes.numel(os));
        int rowOut = Math.toIntExact(total * inner);
        int at = 0;
        for (Tensor t : parts) {
            float[] td = t.floats();
            int len = t.dim(d) * inner;
            for (int o = 0; o < outer; o++) System.arraycopy(td, o * len, y, o * rowOut + at, len);
            at += len;
        }
        return out(y, os);
    }

    @Override
    public Tensor narrow(Tensor x, int dim, int start, int length) {
        int d = OpChecks.narrow(x, dim, start, length);
        int[] s = x.shape();
        int outer = 1;
        for (int i = 0; i < d; i++) outer *= s[i];
        int inner = 1;
        for (int i = d + 1; i < s.length; i++) inner *= s[i];
        int[] os = s.clone();
        os[d] = length;
        float[] y = alloc(Shapes.numel(os));
        int len = length * inner;
        // read straight from the storage: no copy of the whole input (it may be a mapped weight)
        for (int o = 0; o < outer; o++) {
            x.storage().readFloats(x.offset() + ((long) o * s[d] + start) * inner, y, o * len, len);
        }
        return out(y, os);
    }

    @Override
    public Tensor permute(Tensor x, int... perm) {
        int[] p = OpChecks.permute(x, perm);
        int[] s = x.shape();
        int r = s.length;
        int[] os = new int[r];
        long[] st = Shapes.strides(s);
        long[] pst = new long[r];
        for (int i = 0; i < r; i++) {
            os[i] = s[p[i]];
            pst[i] = st[p[i]];
        }
        float[] xd = x.floats();
        float[] y = alloc(x.numel());
        if (y.length == 0) return out(y, os);
        // rows of the last output dimension, each gathered with one stride
        int inner = r == 0 ? 1 : os[r - 1];
        int innerStride = r == 0 ? 0 : (int) pst[r - 1];
        int rows = y.length / inner;
        Parallel.forRange(rows, inner, row -> {
            long src = 0;
            int rem = row;
            for (int i = r - 2; i >= 0; i--) {
                src += (rem % os[i]) * pst[i];
                rem /= os[i];
            }
            int so = (int) src, dst = row * inner;
            for (int j = 0; j < inner; j++) y[dst + j] = xd[so + j * innerStride];
        });
        return out(y, os);
    }

    @Override
    public Tensor upsampleNearest2x(Tensor x) {
        OpChecks.upsampleNearest2x(x);
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        float[] xd = x.floats();
        float[] y = alloc((long) n * c * h * w * 4);
        Parallel.forRange(n * c, (long) h * w * 4, nc -> {
            int si = nc * h * w, di = nc * h * w * 4;
            for (int yy = 0; yy < h; yy++) {
                int row = di + 2 * yy * 2 * w, src = si + yy * w;
                for (int xx = 0; xx < w; xx++) {
                    float v = xd[src + xx];
                    y[row + 2 * xx] = v;
                    y[row + 2 * xx + 1] = v;
                }
                System.arraycopy(y, row, y, row + 2 * w, 2 * w);
            }
        });
        return out(y, n, c, 2 * h, 2 * w);
    }

    @Override
    public Tensor embedding(Tensor table, int[] ids) {
        OpChecks.embedding(table, ids);
        int d = table.dim(1);
        float[] y = alloc((long) ids.length * d);
        for (int i = 0; i < ids.length; i++) {
            // one row read in place (converted from F16/BF16 when the table is a mapped weight)
            table.storage().readFloats(table.offset() + (long) ids[i] * d, y, i * d, d);
        }
        return out(y, ids.length, d);
    }

    @Override
    public Tensor sum(Tensor x, int dim, boolean keepDim) {
        int[] os = OpChecks.sum(x, dim, keepDim);
        int[] s = x.shape();
        // torch allows dim 0 / -1 on a scalar: the sum is the scalar itself
        if (s.length == 0) return out(new float[] {x.item()});
        int d = Shapes.normDim(dim, s.length);
        int outer = 1;
        for (int i = 0; i < d; i++) outer *= s[i];
        int inner = 1;
        for (int i = d + 1; i < s.length; i++) inner *= s[i];
        float[] xd = x.floats();
        float[] y = alloc((long) outer * inner);
        int len = s[d];
        int in = inner;
        Parallel.forRange(outer, (long) len * inner, o -> {
            double[] acc = new double[in];
            for (int j = 0; j < len; j++) {
                int base = (o * len + j) * in;
                for (int i = 0; i < in; i++) acc[i] += xd[base + i];
            }
            for (int i = 0; i < in; i++) y[o * in + i] = (float) acc[i];
        });
        return out(y, os);
    }
}
