package io.jdiffusion.tensor.cpu;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Device;
import io.jdiffusion.tensor.HeapStorage;
import io.jdiffusion.tensor.Shapes;
import io.jdiffusion.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The reference backend: F32 on the heap, loops split over the cores. Reads inputs of any CPU
 * storage (mapped F16/BF16 weights are converted while reading). Every other backend is tested
 * against this one.
 */
public final class CpuBackend implements Backend {
    public static final CpuBackend INSTANCE = new CpuBackend();

    @Override public String name() { return "cpu"; }
    @Override public Device device() { return Device.CPU; }
    @Override public DType computeType() { return DType.F32; }

    private static Tensor out(float[] data, int... shape) { return Tensor.of(data, shape); }

    private static float[] alloc(long n) { return new float[Math.toIntExact(n)]; }

    @Override
    public Tensor upload(Tensor t, DType dtype) {
        // Any CPU storage is read in place (mapped F16/BF16 weights are converted while reading),
        // so only tensors of other devices are copied.
        if (t.device().equals(Device.CPU)) return t;
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

    @Override
    public Tensor matmul(Tensor a, Tensor b) {
        if (a.rank() < 2 || b.rank() < 2) throw new IllegalArgumentException("matmul needs rank >= 2, got " + a + " and " + b);
        int m = a.dim(-2), k = a.dim(-1), n = b.dim(-1);
        if (b.dim(-2) != k) throw new IllegalArgumentException("matmul inner dimensions differ: " + a + " @ " + b);
        int[] ab = Arrays.copyOf(a.shape(), a.rank() - 2), bb = Arrays.copyOf(b.shape(), b.rank() - 2);
        int[] batch = Shapes.broadcast(ab, bb);
        int nb = Math.toIntExact(Shapes.numel(batch));
        float[] ad = a.floats(), bd = b.floats();
        int[] outShape = Arrays.copyOf(batch, batch.length + 2);
        outShape[batch.length] = m;
        outShape[batch.length + 1] = n;
        float[] c = alloc(Shapes.numel(outShape));
        int[] aIdx = BroadcastIndex.map(batch, ab), bIdx = BroadcastIndex.map(batch, bb);
        for (int i = 0; i < nb; i++) {
            CpuGemm.sgemm(m, n, k, ad, aIdx[i] * m * k, bd, bIdx[i] * k * n, false, c, i * m * n);
        }
        return out(c, outShape);
    }

    @Override
    public Tensor linear(Tensor x, Tensor w, Tensor bias) {
        int in = x.dim(-1);
        if (w.rank() != 2 || w.dim(1) != in) throw new IllegalArgumentException("linear: weight " + w + " does not take input " + x);
        int o = w.dim(0);
        int rows = Math.toIntExact(x.numel() / Math.max(1, in));
        float[] c = alloc((long) rows * o);
        CpuGemm.sgemm(rows, o, in, x.floats(), 0, w.floats(), 0, true, c, 0);
        if (bias != null) addRowBias(c, rows, o, bias.floats());
        int[] s = x.shape();
        s[s.length - 1] = o;
        return out(c, s);
    }

    private static void addRowBias(float[] c, int rows, int cols, float[] bias) {
        Parallel.forRange(rows, cols, r -> {
            int base = r * cols;
            for (int j = 0; j < cols; j++) c[base + j] += bias[j];
        });
    }

    @Override
    public Tensor conv2d(Tensor x, Tensor w, Tensor bias, int stride, int padding) {
        if (x.rank() != 4 || w.rank() != 4 || w.dim(1) != x.dim(1)) {
            throw new IllegalArgumentException("conv2d: weight " + w + " does not take input " + x);
        }
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3);
        int o = w.dim(0), kh = w.dim(2), kw = w.dim(3);
        int ho = (h + 2 * padding - kh) / stride + 1, wo = (wd + 2 * padding - kw) / stride + 1;
        float[] xd = x.floats(), wdat = w.floats();
        float[] bd = bias == null ? null : bias.floats();
        float[] y = alloc((long) n * o * ho * wo);
        int ck = c * kh * kw, hw = ho * wo;
        boolean pointwise = kh == 1 && kw == 1 && stride == 1 && padding == 0;
        float[] col = pointwise ? null : new float[ck * hw];
        for (int b = 0; b < n; b++) {
            int xOff = b * c * h * wd;
            float[] src = xd;
            int srcOff = xOff;
            if (!pointwise) {
                final int xo = xOff;
                Parallel.forRange(ck, hw, row -> {
                    int ci = row / (kh * kw), r = row % (kh * kw), ky = r / kw, kx = r % kw;
                    int base = row * hw;
                    for (int oy = 0; oy < ho; oy++) {
                        int iy = oy * stride - padding + ky;
                        for (int ox = 0; ox < wo; ox++) {
                            int ix = ox * stride - padding + kx;
                            col[base + oy * wo + ox] = (iy < 0 || iy >= h || ix < 0 || ix >= wd) ? 0f
                                    : xd[xo + (ci * h + iy) * wd + ix];
                        }
                    }
                });
                src = col;
                srcOff = 0;
            }
            CpuGemm.sgemm(o, hw, ck, wdat, 0, src, srcOff, false, y, b * o * hw);
            if (bd != null) {
                final int yo = b * o * hw;
                Parallel.forRange(o, hw, oc -> {
                    int base = yo + oc * hw;
                    for (int i = 0; i < hw; i++) y[base + i] += bd[oc];
                });
            }
        }
        return out(y, n, o, ho, wo);
    }

    // ---- normalisation and activations -------------------------------------------------------

    @Override
    public Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps, boolean silu) {
        int n = x.dim(0), c = x.dim(1);
        if (c % groups != 0) throw new IllegalArgumentException("groupNorm: " + c + " channels do not split into " + groups + " groups");
        int spatial = Math.toIntExact(x.numel() / ((long) n * c));
        int cpg = c / groups, groupSize = cpg * spatial;
        float[] xd = x.floats(), g = gamma.floats(), bt = beta.floats();
        float[] y = alloc(x.numel());
        Parallel.forRange(n * groups, groupSize, ng -> {
            int base = ng * groupSize;
            double sum = 0;
            for (int i = 0; i < groupSize; i++) sum += xd[base + i];
            double mean = sum / groupSize;
            double var = 0;
            for (int i = 0; i < groupSize; i++) {
                double d = xd[base + i] - mean;
                var += d * d;
            }
            float inv = (float) (1.0 / Math.sqrt(var / groupSize + eps));
            float fm = (float) mean;
            int c0 = (ng % groups) * cpg;
            for (int ci = 0; ci < cpg; ci++) {
                float sc = g[c0 + ci] * inv, sh = bt[c0 + ci];
                int off = base + ci * spatial;
                for (int i = 0; i < spatial; i++) {
                    float v = (xd[off + i] - fm) * sc + sh;
                    y[off + i] = silu ? v / (1f + (float) Math.exp(-v)) : v;
                }
            }
        });
        return out(y, x.shape());
    }

    @Override
    public Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        int d = x.dim(-1);
        int rows = Math.toIntExact(x.numel() / d);
        float[] xd = x.floats(), g = gamma.floats(), bt = beta == null ? null : beta.floats();
        float[] y = alloc(x.numel());
        Parallel.forRange(rows, d, r -> {
            int base = r * d;
            double sum = 0;
            for (int i = 0; i < d; i++) sum += xd[base + i];
            double mean = sum / d, var = 0;
            for (int i = 0; i < d; i++) {
                double t = xd[base + i] - mean;
                var += t * t;
            }
            float inv = (float) (1.0 / Math.sqrt(var / d + eps));
            float fm = (float) mean;
            for (int i = 0; i < d; i++) y[base + i] = (xd[base + i] - fm) * inv * g[i] + (bt == null ? 0f : bt[i]);
        });
        return out(y, x.shape());
    }

    private interface FloatOp { float apply(float v); }

    private static Tensor map(Tensor x, FloatOp f) {
        float[] xd = x.floats();
        float[] y = alloc(x.numel());
        int chunk = 4096, n = y.length;
        Parallel.forRange((n + chunk - 1) / chunk, chunk, ci -> {
            int end = Math.min(n, (ci + 1) * chunk);
            for (int i = ci * chunk; i < end; i++) y[i] = f.apply(xd[i]);
        });
        return out(y, x.shape());
    }

    static float gelu(float v) { return (float) (0.5 * v * (1.0 + Erf.erf(v / Math.sqrt(2.0)))); }

    @Override public Tensor silu(Tensor x) { return map(x, v -> v / (1f + (float) Math.exp(-v))); }
    @Override public Tensor gelu(Tensor x) { return map(x, CpuBackend::gelu); }
    @Override public Tensor quickGelu(Tensor x) { return map(x, v -> v / (1f + (float) Math.exp(-1.702f * v))); }
    @Override public Tensor exp(Tensor x) { return map(x, v -> (float) Math.exp(v)); }
    @Override public Tensor affine(Tensor x, float scale, float shift) { return map(x, v -> v * scale + shift); }
    @Override public Tensor clamp(Tensor x, float min, float max) { return map(x, v -> Math.min(Math.max(v, min), max)); }

    @Override
    public Tensor geglu(Tensor x) {
        int d2 = x.dim(-1);
        if (d2 % 2 != 0) throw new IllegalArgumentException("geglu needs an even last dimension, got " + x);
        int d = d2 / 2, rows = Math.toIntExact(x.numel() / d2);
        float[] xd = x.floats();
        float[] y = alloc((long) rows * d);
        Parallel.forRange(rows, d, r -> {
            for (int i = 0; i < d; i++) y[r * d + i] = xd[r * d2 + i] * gelu(xd[r * d2 + d + i]);
        });
        int[] s = x.shape();
        s[s.length - 1] = d;
        return out(y, s);
    }

    @Override
    public Tensor softmax(Tensor x) {
        int d = x.dim(-1), rows = Math.toIntExact(x.numel() / d);
        float[] xd = x.floats();
        float[] y = alloc(x.numel());
        Parallel.forRange(rows, d, r -> softmaxRow(xd, y, r * d, d));
        return out(y, x.shape());
    }

    private static void softmaxRow(float[] src, float[] dst, int base, int d) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < d; i++) max = Math.max(max, src[base + i]);
        double sum = 0;
        for (int i = 0; i < d; i++) {
            float e = (float) Math.exp(src[base + i] - max);
            dst[base + i] = e;
            sum += e;
        }
        float inv = (float) (1.0 / sum);
        for (int i = 0; i < d; i++) dst[base + i] *= inv;
    }

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, boolean causal) {
        if (q.rank() != 4 || k.rank() != 4 || v.rank() != 4) throw new IllegalArgumentException("attention takes [B, H, S, D] tensors");
        int b = q.dim(0), h = q.dim(1), sq = q.dim(2), d = q.dim(3), sk = k.dim(2), dv = v.dim(3);
        float[] qd = q.floats(), kd = k.floats(), vd = v.floats();
        float[] y = alloc((long) b * h * sq * dv);
        float scale = (float) (1.0 / Math.sqrt(d));
        Parallel.forRange(b * h * sq, (long) sk * (d + dv), idx -> {
            int bh = idx / sq, i = idx % sq;
            int qo = (bh * sq + i) * d, ko = bh * sk * d, vo = bh * sk * dv;
            float[] s = new float[sk];
            int limit = causal ? Math.min(sk, i + 1) : sk;
            for (int j = 0; j < sk; j++) {
                if (j >= limit) { s[j] = Float.NEGATIVE_INFINITY; continue; }
                float acc = 0f;
                for (int p = 0; p < d; p++) acc += qd[qo + p] * kd[ko + j * d + p];
                s[j] = acc * scale;
            }
            softmaxRow(s, s, 0, sk);
            int yo = (bh * sq + i) * dv;
            for (int j = 0; j < limit; j++) {
                float pj = s[j];
                for (int p = 0; p < dv; p++) y[yo + p] += pj * vd[vo + j * dv + p];
            }
        });
        return out(y, b, h, sq, dv);
    }

    // ---- elementwise -------------------------------------------------------------------------

    private interface BinOp { float apply(float a, float b); }

    private static Tensor binary(Tensor a, Tensor b, BinOp f) {
        float[] ad = a.floats(), bd = b.floats();
        if (Arrays.equals(a.shape(), b.shape())) {
            float[] y = alloc(a.numel());
            for (int i = 0; i < y.length; i++) y[i] = f.apply(ad[i], bd[i]);
            return out(y, a.shape());
        }
        int[] s = Shapes.broadcast(a.shape(), b.shape());
        int[] ai = BroadcastIndex.map(s, a.shape()), bi = BroadcastIndex.map(s, b.shape());
        float[] y = alloc(Shapes.numel(s));
        for (int i = 0; i < y.length; i++) y[i] = f.apply(ad[ai[i]], bd[bi[i]]);
        return out(y, s);
    }

    @Override public Tensor add(Tensor a, Tensor b) { return binary(a, b, Float::sum); }
    @Override public Tensor sub(Tensor a, Tensor b) { return binary(a, b, (x, y) -> x - y); }
    @Override public Tensor mul(Tensor a, Tensor b) { return binary(a, b, (x, y) -> x * y); }
    @Override public Tensor div(Tensor a, Tensor b) { return binary(a, b, (x, y) -> x / y); }

    // ---- shape -------------------------------------------------------------------------------

    @Override
    public Tensor concat(int dim, List<Tensor> parts) {
        if (parts.isEmpty()) throw new IllegalArgumentException("concat of nothing");
        int[] s0 = parts.get(0).shape();
        int d = Shapes.normDim(dim, s0.length);
        int total = 0;
        for (Tensor t : parts) {
            int[] s = t.shape();
            for (int i = 0; i < s0.length; i++) {
                if (i != d && s[i] != s0[i]) throw new IllegalArgumentException("concat along " + d + " of mismatched " + t + " and " + parts.get(0));
            }
            total += s[d];
        }
        int outer = 1;
        for (int i = 0; i < d; i++) outer *= s0[i];
        long inner = 1;
        for (int i = d + 1; i < s0.length; i++) inner *= s0[i];
        int[] os = s0.clone();
        os[d] = total;
        float[] y = alloc(Shapes.numel(os));
        long rowOut = total * inner;
        long at = 0;
        for (Tensor t : parts) {
            float[] td = t.floats();
            int len = Math.toIntExact(t.dim(d) * inner);
            for (int o = 0; o < outer; o++) System.arraycopy(td, o * len, y, Math.toIntExact(o * rowOut + at), len);
            at += len;
        }
        return out(y, os);
    }

    @Override
    public List<Tensor> split(Tensor x, int dim, int... sizes) {
        int d = Shapes.normDim(dim, x.rank());
        if (Arrays.stream(sizes).sum() != x.dim(d)) {
            throw new IllegalArgumentException("split sizes " + Arrays.toString(sizes) + " do not add up to " + x.dim(d));
        }
        List<Tensor> parts = new ArrayList<>(sizes.length);
        int at = 0;
        for (int s : sizes) {
            parts.add(narrow(x, d, at, s));
            at += s;
        }
        return parts;
    }

    @Override
    public Tensor narrow(Tensor x, int dim, int start, int length) {
        int[] s = x.shape();
        int d = Shapes.normDim(dim, s.length);
        if (start < 0 || length < 0 || start + length > s[d]) {
            throw new IndexOutOfBoundsException("narrow [" + start + ", " + (start + length) + ") of dimension " + d + " of " + x);
        }
        int outer = 1;
        for (int i = 0; i < d; i++) outer *= s[i];
        int inner = 1;
        for (int i = d + 1; i < s.length; i++) inner *= s[i];
        float[] xd = x.floats();
        int[] os = s.clone();
        os[d] = length;
        float[] y = alloc(Shapes.numel(os));
        int len = length * inner;
        for (int o = 0; o < outer; o++) System.arraycopy(xd, (o * s[d] + start) * inner, y, o * len, len);
        return out(y, os);
    }

    @Override
    public Tensor permute(Tensor x, int... perm) {
        int[] s = x.shape();
        int r = s.length;
        if (perm.length != r) throw new IllegalArgumentException("permute " + Arrays.toString(perm) + " of rank-" + r + " tensor");
        int[] os = new int[r];
        long[] st = Shapes.strides(s);
        long[] pst = new long[r];
        for (int i = 0; i < r; i++) {
            os[i] = s[perm[i]];
            pst[i] = st[perm[i]];
        }
        float[] xd = x.floats();
        float[] y = alloc(x.numel());
        int[] idx = new int[r];
        long src = 0;
        for (int i = 0; i < y.length; i++) {
            y[i] = xd[(int) src];
            for (int a = r - 1; a >= 0; a--) {
                idx[a]++;
                src += pst[a];
                if (idx[a] < os[a]) break;
                src -= pst[a] * os[a];
                idx[a] = 0;
            }
        }
        return out(y, os);
    }

    @Override
    public Tensor upsampleNearest2x(Tensor x) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        float[] xd = x.floats();
        float[] y = alloc((long) n * c * h * w * 4);
        Parallel.forRange(n * c, (long) h * w * 4, nc -> {
            int si = nc * h * w, di = nc * h * w * 4;
            for (int yy = 0; yy < 2 * h; yy++) {
                for (int xx = 0; xx < 2 * w; xx++) y[di + yy * 2 * w + xx] = xd[si + (yy / 2) * w + xx / 2];
            }
        });
        return out(y, n, c, 2 * h, 2 * w);
    }

    @Override
    public Tensor embedding(Tensor table, int[] ids) {
        int v = table.dim(0), d = table.dim(1);
        float[] y = alloc((long) ids.length * d);
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= v) throw new IndexOutOfBoundsException("token id " + ids[i] + " outside vocabulary of " + v);
            table.storage().readFloats(table.offset() + (long) ids[i] * d, y, i * d, d);
        }
        return out(y, ids.length, d);
    }

    @Override
    public Tensor sum(Tensor x, int dim, boolean keepDim) {
        int[] s = x.shape();
        int d = Shapes.normDim(dim, s.length);
        int outer = 1;
        for (int i = 0; i < d; i++) outer *= s[i];
        int inner = 1;
        for (int i = d + 1; i < s.length; i++) inner *= s[i];
        float[] xd = x.floats();
        float[] y = alloc((long) outer * inner);
        int len = s[d];
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                double acc = 0;
                for (int j = 0; j < len; j++) acc += xd[(o * len + j) * inner + i];
                y[o * inner + i] = (float) acc;
            }
        }
        int[] os;
        if (keepDim) {
            os = s.clone();
            os[d] = 1;
        } else {
            os = new int[s.length - 1];
            for (int i = 0, j = 0; i < s.length; i++) if (i != d) os[j++] = s[i];
        }
        return out(y, os);
    }
}
