package io.jdiffusion.tensor.cuda;

import io.jdiffusion.tensor.Shapes;

import java.util.Arrays;

/**
 * Independent reference implementations for the op matrix: plain loops in double precision,
 * written from the definitions (PyTorch semantics), sharing no code with any backend.
 */
final class Naive {
    private Naive() {}

    /** A tensor as data + shape. */
    record T(float[] data, int[] shape) {
        T {
            if (Shapes.numel(shape) != data.length) throw new IllegalArgumentException(Arrays.toString(shape) + " vs " + data.length);
        }
    }

    static int numel(int[] s) { return Math.toIntExact(Shapes.numel(s)); }

    /** Flat index of src reached from out-index {@code idx} under numpy broadcasting. */
    static int bcast(int[] out, int[] src, int[] idx) {
        int off = 0, r = out.length;
        for (int i = 0; i < src.length; i++) {
            int oi = i + r - src.length;
            int c = src[i] == 1 ? 0 : idx[oi];
            off = off * src[i] + c;
        }
        return off;
    }

    static int[] unravel(int flat, int[] shape) {
        int[] idx = new int[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) {
            idx[d] = flat % shape[d];
            flat /= shape[d];
        }
        return idx;
    }

    interface Bin { double f(double a, double b); }

    static T binary(T a, T b, Bin f) {
        int[] s = Shapes.broadcast(a.shape(), b.shape());
        float[] y = new float[numel(s)];
        for (int i = 0; i < y.length; i++) {
            int[] idx = unravel(i, s);
            y[i] = (float) f.f(a.data()[bcast(s, a.shape(), idx)], b.data()[bcast(s, b.shape(), idx)]);
        }
        return new T(y, s);
    }

    interface Un { double f(double v); }

    static T unary(T x, Un f) {
        float[] y = new float[x.data().length];
        for (int i = 0; i < y.length; i++) y[i] = (float) f.f(x.data()[i]);
        return new T(y, x.shape());
    }

    /** erf by its Maclaurin series (|x| < 3) or continued fraction tail: ~1e-15 in double. */
    static double erf(double x) {
        double ax = Math.abs(x);
        double r;
        if (ax < 3) {
            double term = ax, sum = ax, x2 = ax * ax;
            for (int n = 1; n < 200; n++) {
                term *= -x2 / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.abs(add) < 1e-17) break;
            }
            r = 2 / Math.sqrt(Math.PI) * sum;
        } else {
            // erfc continued fraction (Lentz), then 1 - erfc
            double f = ax, c = ax, d = 0, tiny = 1e-300;
            for (int n = 1; n < 300; n++) {
                double an = n / 2.0;
                d = ax + an * d;
                d = Math.abs(d) < tiny ? tiny : d;
                c = ax + an / c;
                c = Math.abs(c) < tiny ? tiny : c;
                d = 1 / d;
                f *= c * d;
            }
            r = 1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
        }
        return x < 0 ? -r : r;
    }

    static double gelu(double v) { return 0.5 * v * (1 + erf(v / Math.sqrt(2))); }

    static double sigmoid(double v) { return 1 / (1 + Math.exp(-v)); }

    static T matmul(T a, T b) {
        int ra = a.shape().length, rb = b.shape().length;
        int m = a.shape()[ra - 2], k = a.shape()[ra - 1], n = b.shape()[rb - 1];
        int[] ab = Arrays.copyOf(a.shape(), ra - 2), bb = Arrays.copyOf(b.shape(), rb - 2);
        int[] batch = Shapes.broadcast(ab, bb);
        int nb = numel(batch);
        int[] os = Arrays.copyOf(batch, batch.length + 2);
        os[batch.length] = m;
        os[batch.length + 1] = n;
        float[] y = new float[numel(os)];
        for (int bi = 0; bi < nb; bi++) {
            int[] idx = unravel(bi, batch);
            int ao = bcast(batch, ab, idx) * m * k, bo = bcast(batch, bb, idx) * k * n;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) s += (double) a.data()[ao + i * k + p] * b.data()[bo + p * n + j];
                    y[(bi * m + i) * n + j] = (float) s;
                }
            }
        }
        return new T(y, os);
    }

    static T linear(T x, T w, T bias) {
        int in = w.shape()[1], o = w.shape()[0], rows = x.data().length / in;
        float[] y = new float[rows * o];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < o; j++) {
                double s = bias == null ? 0 : bias.data()[j];
                for (int p = 0; p < in; p++) s += (double) x.data()[r * in + p] * w.data()[j * in + p];
                y[r * o + j] = (float) s;
            }
        }
        int[] s = x.shape().clone();
        s[s.length - 1] = o;
        return new T(y, s);
    }

    static T conv2d(T x, T w, T bias, int stride, int pad) {
        int n = x.shape()[0], c = x.shape()[1], h = x.shape()[2], wd = x.shape()[3];
        int o = w.shape()[0], kh = w.shape()[2], kw = w.shape()[3];
        int ho = (h + 2 * pad - kh) / stride + 1, wo = (wd + 2 * pad - kw) / stride + 1;
        float[] y = new float[n * o * ho * wo];
        for (int b = 0; b < n; b++)
            for (int oc = 0; oc < o; oc++)
                for (int oy = 0; oy < ho; oy++)
                    for (int ox = 0; ox < wo; ox++) {
                        double s = bias == null ? 0 : bias.data()[oc];
                        for (int ci = 0; ci < c; ci++)
                            for (int ky = 0; ky < kh; ky++)
                                for (int kx = 0; kx < kw; kx++) {
                                    int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                                    if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                                    s += (double) x.data()[((b * c + ci) * h + iy) * wd + ix] * w.data()[((oc * c + ci) * kh + ky) * kw + kx];
                                }
                        y[((b * o + oc) * ho + oy) * wo + ox] = (float) s;
                    }
        return new T(y, new int[] {n, o, ho, wo});
    }

    static T groupNorm(T x, int groups, T g, T b, double eps, boolean silu) {
        int n = x.shape()[0], c = x.shape()[1], sp = x.data().length / (n * c), cpg = c / groups;
        float[] y = new float[x.data().length];
        for (int bi = 0; bi < n; bi++)
            for (int gi = 0; gi < groups; gi++) {
                int base = (bi * c + gi * cpg) * sp, size = cpg * sp;
                double mean = 0, var = 0;
                for (int i = 0; i < size; i++) mean += x.data()[base + i];
                mean /= size;
                for (int i = 0; i < size; i++) var += Math.pow(x.data()[base + i] - mean, 2);
                var /= size;
                for (int i = 0; i < size; i++) {
                    int ch = gi * cpg + i / sp;
                    double v = (x.data()[base + i] - mean) / Math.sqrt(var + eps) * g.data()[ch] + b.data()[ch];
                    y[base + i] = (float) (silu ? v * sigmoid(v) : v);
                }
            }
        return new T(y, x.shape());
    }

    static T layerNorm(T x, T g, T b, double eps) {
        int d = x.shape()[x.shape().length - 1], rows = x.data().length / d;
        float[] y = new float[x.data().length];
        for (int r = 0; r < rows; r++) {
            double mean = 0, var = 0;
            for (int i = 0; i < d; i++) mean += x.data()[r * d + i];
            mean /= d;
            for (int i = 0; i < d; i++) var += Math.pow(x.data()[r * d + i] - mean, 2);
            var /= d;
            for (int i = 0; i < d; i++) {
                y[r * d + i] = (float) ((x.data()[r * d + i] - mean) / Math.sqrt(var + eps) * g.data()[i] + (b == null ? 0 : b.data()[i]));
            }
        }
        return new T(y, x.shape());
    }

    static T softmax(T x) {
        int d = x.shape()[x.shape().length - 1], rows = x.data().length / d;
        float[] y = new float[x.data().length];
        for (int r = 0; r < rows; r++) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int i = 0; i < d; i++) max = Math.max(max, x.data()[r * d + i]);
            for (int i = 0; i < d; i++) sum += Math.exp(x.data()[r * d + i] - max);
            for (int i = 0; i < d; i++) y[r * d + i] = (float) (Math.exp(x.data()[r * d + i] - max) / sum);
        }
        return new T(y, x.shape());
    }

    static T geglu(T x) {
        int d2 = x.shape()[x.shape().length - 1], d = d2 / 2, rows = x.data().length / d2;
        float[] y = new float[rows * d];
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < d; i++) y[r * d + i] = (float) (x.data()[r * d2 + i] * gelu(x.data()[r * d2 + d + i]));
        int[] s = x.shape().clone();
        s[s.length - 1] = d;
        return new T(y, s);
    }

    static T attention(T q, T k, T v, boolean causal) {
        int b = q.shape()[0], h = q.shape()[1], sq = q.shape()[2], d = q.shape()[3], sk = k.shape()[2], dv = v.shape()[3];
        float[] y = new float[b * h * sq * dv];
        double scale = 1 / Math.sqrt(d);
        for (int bh = 0; bh < b * h; bh++)
            for (int i = 0; i < sq; i++) {
                double[] s = new double[sk];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < sk; j++) {
                    if (causal && j > i) { s[j] = Double.NEGATIVE_INFINITY; continue; }
                    double dot = 0;
                    for (int p = 0; p < d; p++) dot += (double) q.data()[(bh * sq + i) * d + p] * k.data()[(bh * sk + j) * d + p];
                    s[j] = dot * scale;
                    max = Math.max(max, s[j]);
                }
                double sum = 0;
                for (int j = 0; j < sk; j++) sum += s[j] = Math.exp(s[j] - max);
                for (int p = 0; p < dv; p++) {
                    double acc = 0;
                    for (int j = 0; j < sk; j++) acc += s[j] / sum * v.data()[(bh * sk + j) * dv + p];
                    y[(bh * sq + i) * dv + p] = (float) acc;
                }
            }
        return new T(y, new int[] {b, h, sq, dv});
    }

    static T concat(int dim, T... parts) {
        int[] s0 = parts[0].shape();
        int d = Shapes.normDim(dim, s0.length), total = 0;
        for (T p : parts) total += p.shape()[d];
        int[] os = s0.clone();
        os[d] = total;
        float[] y = new float[numel(os)];
        for (int i = 0; i < y.length; i++) {
            int[] idx = unravel(i, os);
            int at = idx[d];
            for (T p : parts) {
                if (at < p.shape()[d]) {
                    int[] pi = idx.clone();
                    pi[d] = at;
                    int flat = 0;
                    for (int a = 0; a < pi.length; a++) flat = flat * p.shape()[a] + pi[a];
                    y[i] = p.data()[flat];
                    break;
                }
                at -= p.shape()[d];
            }
        }
        return new T(y, os);
    }

    static T narrow(T x, int dim, int start, int len) {
        int d = Shapes.normDim(dim, x.shape().length);
        int[] os = x.shape().clone();
        os[d] = len;
        float[] y = new float[numel(os)];
        for (int i = 0; i < y.length; i++) {
            int[] idx = unravel(i, os);
            idx[d] += start;
            int flat = 0;
            for (int a = 0; a < idx.length; a++) flat = flat * x.shape()[a] + idx[a];
            y[i] = x.data()[flat];
        }
        return new T(y, os);
    }

    static T permute(T x, int... perm) {
        int[] s = x.shape(), os = new int[s.length];
        for (int i = 0; i < s.length; i++) os[i] = s[perm[i]];
        float[] y = new float[x.data().length];
        for (int i = 0; i < y.length; i++) {
            int[] oi = unravel(i, os), si = new int[s.length];
            for (int a = 0; a < s.length; a++) si[perm[a]] = oi[a];
            int flat = 0;
            for (int a = 0; a < s.length; a++) flat = flat * s[a] + si[a];
            y[i] = x.data()[flat];
        }
        return new T(y, os);
    }

    static T upsample2x(T x) {
        int n = x.shape()[0], c = x.shape()[1], h = x.shape()[2], w = x.shape()[3];
        float[] y = new float[n * c * h * w * 4];
        for (int p = 0; p < n * c; p++)
            for (int yy = 0; yy < 2 * h; yy++)
                for (int xx = 0; xx < 2 * w; xx++) y[(p * 2 * h + yy) * 2 * w + xx] = x.data()[(p * h + yy / 2) * w + xx / 2];
        return new T(y, new int[] {n, c, 2 * h, 2 * w});
    }

    static T embedding(T table, int[] ids) {
        int d = table.shape()[1];
        float[] y = new float[ids.length * d];
        for (int i = 0; i < ids.length; i++) System.arraycopy(table.data(), ids[i] * d, y, i * d, d);
        return new T(y, new int[] {ids.length, d});
    }

    static T sum(T x, int dim, boolean keep, boolean mean) {
        int[] s = x.shape();
        int d = Shapes.normDim(dim, s.length);
        int[] ks = s.clone();
        ks[d] = 1;
        float[] y = new float[numel(ks)];
        for (int i = 0; i < y.length; i++) {
            int[] idx = unravel(i, ks);
            double acc = 0;
            for (int j = 0; j < s[d]; j++) {
                idx[d] = j;
                int flat = 0;
                for (int a = 0; a < s.length; a++) flat = flat * s[a] + idx[a];
                acc += x.data()[flat];
            }
            y[i] = (float) (mean ? acc / s[d] : acc);
        }
        if (keep) return new T(y, ks);
        int[] os = new int[s.length - 1];
        for (int i = 0, j = 0; i < s.length; i++) if (i != d) os[j++] = s[i];
        return new T(y, os);
    }
}
