package io.jdiffusion.tensor;

import java.util.Arrays;

/** Shape arithmetic shared by the backends. */
public final class Shapes {
    private Shapes() {}

    public static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    static int[] inferReshape(long numel, int[] shape) {
        int[] s = shape.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < s.length; i++) {
            if (s[i] == -1) {
                if (infer >= 0) throw new IllegalArgumentException("more than one -1 in reshape " + Arrays.toString(shape));
                infer = i;
            } else {
                if (s[i] < 0) throw new IllegalArgumentException("negative dimension in reshape " + Arrays.toString(shape));
                known *= s[i];
            }
        }
        if (infer >= 0) {
            if (known == 0 || numel % known != 0) {
                throw new IllegalArgumentException("cannot reshape " + numel + " elements to " + Arrays.toString(shape));
            }
            s[infer] = Math.toIntExact(numel / known);
        } else if (known != numel) {
            throw new IllegalArgumentException("cannot reshape " + numel + " elements to " + Arrays.toString(shape));
        }
        return s;
    }

    /** Numpy broadcasting of two shapes. */
    public static int[] broadcast(int[] a, int[] b) {
        int n = Math.max(a.length, b.length);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            int da = i - (n - a.length) >= 0 ? a[i - (n - a.length)] : 1;
            int db = i - (n - b.length) >= 0 ? b[i - (n - b.length)] : 1;
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException("shapes " + Arrays.toString(a) + " and " + Arrays.toString(b) + " do not broadcast");
            }
            out[i] = da == 1 ? db : da;
        }
        return out;
    }

    /** Row-major strides of a contiguous tensor of this shape. */
    public static long[] strides(int[] shape) {
        long[] st = new long[shape.length];
        long s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            st[i] = s;
            s *= shape[i];
        }
        return st;
    }

    /**
     * The strides at which an operand of shape {@code src} is read along each dimension of the
     * broadcast result {@code out} (numpy rules: 0 where src has that dimension as 1 or lacks it).
     */
    public static long[] broadcastStrides(int[] src, int[] out) {
        int r = out.length;
        long[] st = strides(src);
        long[] res = new long[r];
        for (int i = 0; i < r; i++) {
            int si = i - (r - src.length);
            res[i] = (si < 0 || src[si] == 1) ? 0 : st[si];
        }
        return res;
    }

    public static int normDim(int dim, int rank) {
        int d = dim < 0 ? dim + rank : dim;
        if (d < 0 || d >= rank) throw new IllegalArgumentException("dimension " + dim + " out of range for rank " + rank);
        return d;
    }
}
