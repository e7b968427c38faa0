package io.jdiffusion.tensor;

import java.util.Arrays;
import java.util.List;

/**
 * The argument rules of the {@link Backend} ops, in one place: every backend calls the check of an
 * op before it computes, so all of them reject the same bad call with the same exception and the
 * same message (naming the op, the argument and what is allowed). Messages show shapes only, never
 * a tensor's dtype or device, which differ between backends. Where a check works out the result's
 * shape (or a normalised dimension) it returns it, so a backend need not derive it again.
 *
 * <p>What one backend cannot do although the call is valid (a head size or rank its kernels do not
 * cover) is that backend's own limit and stays in it.
 */
public final class OpChecks {
    private OpChecks() {}

    private static String s(Tensor t) { return Arrays.toString(t.shape()); }

    private static void rankAtLeast(String op, String what, Tensor t, int rank, String form) {
        if (t.rank() < rank) throw new IllegalArgumentException(op + ": " + what + " must be " + form + ", got " + s(t));
    }

    /** A present per-channel vector must be [size]; null (no affine part) passes. */
    private static void vector(String op, String what, Tensor t, int size) {
        if (t != null && (t.rank() != 1 || t.dim(0) != size)) {
            throw new IllegalArgumentException(op + ": " + what + " must be [" + size + "], got " + s(t));
        }
    }

    /** Not a meta tensor: it has no data to read. */
    public static void upload(Tensor t) {
        if (t.device().kind() == Device.Kind.META) {
            throw new IllegalArgumentException("upload: a meta tensor " + s(t) + " has no data (it comes from a shapes-only tree)");
        }
    }

    /**
     * a[..., M, K] @ b[..., K, N] with broadcast batch dimensions; a rank-1 operand gains a unit
     * dimension that the result drops (numpy's rule). Returns the result's shape.
     */
    public static int[] matmul(Tensor a, Tensor b) {
        if (a.rank() < 1 || b.rank() < 1) throw new IllegalArgumentException("matmul: operands must have rank >= 1, got " + s(a) + " and " + s(b));
        boolean aVec = a.rank() == 1, bVec = b.rank() == 1;
        int[] as = aVec ? new int[] {1, a.dim(0)} : a.shape();
        int[] bs = bVec ? new int[] {b.dim(0), 1} : b.shape();
        int m = as[as.length - 2], k = as[as.length - 1], n = bs[bs.length - 1];
        if (bs[bs.length - 2] != k) throw new IllegalArgumentException("matmul: inner dimensions differ: " + s(a) + " @ " + s(b));
        int[] batch;
        try {
            batch = Shapes.broadcast(Arrays.copyOf(as, as.length - 2), Arrays.copyOf(bs, bs.length - 2));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("matmul: batch dimensions of " + s(a) + " and " + s(b) + " do not broadcast");
        }
        int[] out = Arrays.copyOf(batch, batch.length + 2);
        out[batch.length] = m;
        out[batch.length + 1] = n;
        if (aVec) out = dropDim(out, batch.length);
        if (bVec) out = dropDim(out, out.length - 1);
        return out;
    }

    private static int[] dropDim(int[] s, int d) {
        int[] r = new int[s.length - 1];
        for (int i = 0, j = 0; i < s.length; i++) if (i != d) r[j++] = s[i];
        return r;
    }

    /** x[..., in] with w[out, in] and bias[out] or null. Returns the result's shape [..., out]. */
    public static int[] linear(Tensor x, Tensor w, Tensor bias) {
        rankAtLeast("linear", "input", x, 1, "[..., in]");
        int in = x.dim(-1);
        if (w.rank() != 2 || w.dim(1) != in) {
            throw new IllegalArgumentException("linear: weight " + s(w) + " does not take input " + s(x) + " (expected [out, " + in + "])");
        }
        vector("linear", "bias", bias, w.dim(0));
        int[] out = x.shape();
        out[out.length - 1] = w.dim(0);
        return out;
    }

    /** As {@link #linear}, and the residual must have the result's shape. */
    public static int[] linearAdd(Tensor x, Tensor w, Tensor bias, Tensor residual) {
        return residual("linearAdd", residual, linear(x, w, bias));
    }

    /** As {@link #conv2d}; the residual has the result's shape [N, O, H', W'], or is [N, O, 1, 1] (one value per image and channel). */
    public static int[] conv2dAdd(Tensor x, Tensor w, Tensor bias, int stride, int padding, Tensor residual) {
        int[] out = conv2d(x, w, bias, stride, padding);
        if (residual != null && Arrays.equals(residual.shape(), new int[] {out[0], out[1], 1, 1})) return out;
        return residual("conv2dAdd", residual, out);
    }

    private static int[] residual(String op, Tensor residual, int[] out) {
        if (residual == null || !Arrays.equals(residual.shape(), out)) {
            throw new IllegalArgumentException(op + ": residual " + (residual == null ? "null" : s(residual))
                    + " must have the result's shape " + Arrays.toString(out));
        }
        return out;
    }

    /** x[..., in] with w[G, out, in]. Returns [G, ..., out]. */
    public static int[] linearStack(Tensor x, Tensor w) {
        rankAtLeast("linearStack", "input", x, 1, "[..., in]");
        int in = x.dim(-1);
        if (w.rank() != 3 || w.dim(2) != in || w.dim(0) < 1) {
            throw new IllegalArgumentException("linearStack: weights " + s(w) + " do not take input " + s(x) + " (expected [G >= 1, out, " + in + "])");
        }
        int[] out = new int[x.rank() + 1];
        out[0] = w.dim(0);
        for (int i = 0; i < x.rank() - 1; i++) out[i + 1] = x.dim(i);
        out[x.rank()] = w.dim(1);
        return out;
    }

    /** x[N, C, H, W] with w[O, C, kh, kw], bias[O] or null, stride >= 1, padding >= 0. Returns [N, O, H', W']. */
    public static int[] conv2d(Tensor x, Tensor w, Tensor bias, int stride, int padding) {
        if (x.rank() != 4) throw new IllegalArgumentException("conv2d: input must be [N, C, H, W], got " + s(x));
        if (w.rank() != 4 || w.dim(1) != x.dim(1)) {
            throw new IllegalArgumentException("conv2d: weight " + s(w) + " does not take input " + s(x) + " (expected [O, " + x.dim(1) + ", kh, kw])");
        }
        if (stride < 1) throw new IllegalArgumentException("conv2d: stride must be >= 1, got " + stride);
        if (padding < 0) throw new IllegalArgumentException("conv2d: padding must be >= 0, got " + padding);
        vector("conv2d", "bias", bias, w.dim(0));
        int h = x.dim(2) + 2 * padding, wd = x.dim(3) + 2 * padding, kh = w.dim(2), kw = w.dim(3);
        if (h < kh || wd < kw) {
            throw new IllegalArgumentException("conv2d: kernel " + kh + "x" + kw + " larger than padded input " + h + "x" + wd);
        }
        return new int[] {x.dim(0), w.dim(0), (h - kh) / stride + 1, (wd - kw) / stride + 1};
    }

    /** x[N, C, ...] in {@code groups} groups that divide C; gamma and beta [C] (or null: no affine part). */
    public static void groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta) {
        rankAtLeast("groupNorm", "input", x, 2, "[N, C, ...]");
        int c = x.dim(1);
        if (groups < 1 || c % groups != 0) throw new IllegalArgumentException("groupNorm: " + c + " channels do not split into " + groups + " groups");
        vector("groupNorm", "gamma", gamma, c);
        vector("groupNorm", "beta", beta, c);
    }

    /** As {@link #groupNorm} on an image x[N, C, h, w]. Returns the tokens' shape [N, h·w, C]. */
    public static int[] groupNormToTokens(Tensor x, int groups, Tensor gamma, Tensor beta) {
        if (x.rank() != 4) throw new IllegalArgumentException("groupNormToTokens: input must be [N, C, h, w], got " + s(x));
        groupNorm(x, groups, gamma, beta);
        return new int[] {x.dim(0), x.dim(2) * x.dim(3), x.dim(1)};
    }

    /**
     * Tokens x[N, h·w, in] with w[out, in] and bias[out] or null, residual [N, out, h, w] (its h and w
     * give the image's). Returns the result's shape, the residual's.
     */
    public static int[] linearToImageAdd(Tensor x, Tensor w, Tensor bias, Tensor residual) {
        if (x.rank() != 3) throw new IllegalArgumentException("linearToImageAdd: input must be tokens [N, h·w, in], got " + s(x));
        linear(x, w, bias);
        boolean fits = residual != null && residual.rank() == 4 && residual.dim(0) == x.dim(0) && residual.dim(1) == w.dim(0)
                && (long) residual.dim(2) * residual.dim(3) == x.dim(1);
        if (!fits) {
            throw new IllegalArgumentException("linearToImageAdd: residual " + (residual == null ? "null" : s(residual)) + " must be [" + x.dim(0)
                    + ", " + w.dim(0) + ", h, w] with h·w = " + x.dim(1) + " tokens");
        }
        return residual.shape();
    }

    /** x[..., D] with gamma and beta [D] (or null: no affine part). */
    public static void layerNorm(Tensor x, Tensor gamma, Tensor beta) {
        rankAtLeast("layerNorm", "input", x, 1, "[..., D]");
        vector("layerNorm", "gamma", gamma, x.dim(-1));
        vector("layerNorm", "beta", beta, x.dim(-1));
    }

    /** x[..., 2n]. Returns the result's shape [..., n]. */
    public static int[] geglu(Tensor x) {
        rankAtLeast("geglu", "input", x, 1, "[..., 2n]");
        if (x.dim(-1) % 2 != 0) throw new IllegalArgumentException("geglu: the last dimension must be even, got " + s(x));
        int[] out = x.shape();
        out[out.length - 1] /= 2;
        return out;
    }

    /** x[..., D]. */
    public static void softmax(Tensor x) { rankAtLeast("softmax", "input", x, 1, "[..., D]"); }

    /** q[B, H, Sq, D], k[B, H, Sk, D], v[B, H, Sk, Dv]. Returns the result's shape [B, H, Sq, Dv]. */
    public static int[] attention(Tensor q, Tensor k, Tensor v) {
        if (q.rank() != 4 || k.rank() != 4 || v.rank() != 4) {
            throw new IllegalArgumentException("attention: q, k, v must be [B, H, S, D], got q " + s(q) + ", k " + s(k) + ", v " + s(v));
        }
        if (k.dim(0) != q.dim(0) || k.dim(1) != q.dim(1) || k.dim(3) != q.dim(3)) {
            throw new IllegalArgumentException("attention: k " + s(k) + " does not match q " + s(q) + " (batch, heads and head size)");
        }
        if (v.dim(0) != k.dim(0) || v.dim(1) != k.dim(1) || v.dim(2) != k.dim(2)) {
            throw new IllegalArgumentException("attention: v " + s(v) + " does not match k " + s(k) + " (batch, heads and length)");
        }
        return new int[] {q.dim(0), q.dim(1), q.dim(2), v.dim(3)};
    }

    public static void clamp(float min, float max) {
        if (!(min <= max)) throw new IllegalArgumentException("clamp: min " + min + " must be <= max " + max);
    }

    /** Parts of one rank (>= 1) that agree in every dimension but {@code dim}. Returns the result's shape. */
    public static int[] concat(int dim, List<Tensor> parts) {
        if (parts.isEmpty()) throw new IllegalArgumentException("concat: no tensors to concatenate");
        int[] s0 = parts.get(0).shape();
        if (s0.length == 0) throw new IllegalArgumentException("concat: rank-0 tensors cannot be concatenated");
        int d = Shapes.normDim(dim, s0.length);
        long total = 0;
        for (Tensor t : parts) {
            int[] s = t.shape();
            boolean ok = s.length == s0.length;
            for (int i = 0; ok && i < s0.length; i++) ok = i == d || s[i] == s0[i];
            if (!ok) throw new IllegalArgumentException("concat: along dimension " + d + ", " + s(t) + " does not match " + Arrays.toString(s0));
            total += s[d];
        }
        int[] out = s0.clone();
        out[d] = Math.toIntExact(total);
        return out;
    }

    /** Sizes >= 0 that add up to dimension {@code dim} of x. Returns the normalised dimension. */
    public static int split(Tensor x, int dim, int[] sizes) {
        int d = Shapes.normDim(dim, x.rank());
        long sum = 0;
        for (int sz : sizes) {
            if (sz < 0) throw new IllegalArgumentException("split: sizes must be >= 0, got " + Arrays.toString(sizes));
            sum += sz;
        }
        if (sum != x.dim(d)) {
            throw new IllegalArgumentException("split: sizes " + Arrays.toString(sizes) + " do not add up to " + x.dim(d)
                    + " (dimension " + d + " of " + s(x) + ")");
        }
        return d;
    }

    /** [start, start + length) within dimension {@code dim} of x. Returns the normalised dimension. */
    public static int narrow(Tensor x, int dim, int start, int length) {
        int d = Shapes.normDim(dim, x.rank());
        if (start < 0 || length < 0 || (long) start + length > x.dim(d)) {
            throw new IndexOutOfBoundsException("narrow: [" + start + ", " + ((long) start + length) + ") is outside dimension " + d + " of " + s(x));
        }
        return d;
    }

    /** A permutation of x's dimensions (negative ones count from the end). Returns it normalised. */
    public static int[] permute(Tensor x, int[] perm) {
        int r = x.rank();
        if (perm.length != r) throw new IllegalArgumentException("permute: " + Arrays.toString(perm) + " does not permute the " + r + " dimensions of " + s(x));
        int[] p = new int[r];
        boolean[] seen = new boolean[r];
        for (int i = 0; i < r; i++) {
            p[i] = Shapes.normDim(perm[i], r);
            if (seen[p[i]]) throw new IllegalArgumentException("permute: " + Arrays.toString(perm) + " repeats dimension " + p[i]);
            seen[p[i]] = true;
        }
        return p;
    }

    /** x[N, C, H, W]. */
    public static void upsampleNearest2x(Tensor x) {
        if (x.rank() != 4) throw new IllegalArgumentException("upsampleNearest2x: input must be [N, C, H, W], got " + s(x));
    }

    /** table[V, D] and ids in [0, V). */
    public static void embedding(Tensor table, int[] ids) {
        if (table.rank() != 2) throw new IllegalArgumentException("embedding: table must be [V, D], got " + s(table));
        int v = table.dim(0);
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= v) {
                throw new IndexOutOfBoundsException("embedding: id " + ids[i] + " at position " + i + " is outside the table's " + v + " rows");
            }
        }
    }

    /**
     * Dimension {@code dim} of x; a rank-0 x takes dim 0 or -1 (torch's rule: the sum is the value
     * itself). Returns the result's shape.
     */
    public static int[] sum(Tensor x, int dim, boolean keepDim) {
        int[] s = x.shape();
        if (s.length == 0) {
            if (dim != 0 && dim != -1) throw new IllegalArgumentException("sum: dimension " + dim + " out of range for a rank-0 tensor");
            return s;
        }
        int d = Shapes.normDim(dim, s.length);
        if (keepDim) {
            s[d] = 1;
            return s;
        }
        return dropDim(s, d);
    }
}
