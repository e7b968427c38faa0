package io.jdiffusion.tensor.cpu;

import io.jdiffusion.tensor.Shapes;

/** For each element of a broadcast result, the flat index of the source element it reads. */
final class BroadcastIndex {
    private BroadcastIndex() {}

    static int[] map(int[] outShape, int[] srcShape) {
        int r = outShape.length;
        long[] srcStrides = new long[r];
        long[] st = Shapes.strides(srcShape);
        for (int i = 0; i < r; i++) {
            int si = i - (r - srcShape.length);
            srcStrides[i] = (si < 0 || srcShape[si] == 1) ? 0 : st[si];
        }
        int n = Math.toIntExact(Shapes.numel(outShape));
        int[] map = new int[n];
        int[] idx = new int[r];
        long src = 0;
        for (int i = 0; i < n; i++) {
            map[i] = (int) src;
            for (int a = r - 1; a >= 0; a--) {
                idx[a]++;
                src += srcStrides[a];
                if (idx[a] < outShape[a]) break;
                src -= srcStrides[a] * outShape[a];
                idx[a] = 0;
            }
        }
        return map;
    }
}
