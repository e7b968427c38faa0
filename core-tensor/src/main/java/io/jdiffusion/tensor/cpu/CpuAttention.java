package io.jdiffusion.tensor.cpu;

import java.util.Arrays;

/**
 * Blocked ("flash") attention on the CPU: softmax(Q Kᵀ / √d) V per (batch, head), one block of
 * {@link #QB} queries per work item, keys in blocks of {@link #KB}, with an online softmax (running
 * row maximum and sum, earlier output rescaled when the maximum grows), so the Sq×Sk score
 * matrix never exists; a work item holds QB×KB scores. K and Vᵀ are packed once per call in the
 * GEMM's panel layout and read in place by every query block of their head.
 */
final class CpuAttention {
    private CpuAttention() {}

    /** Queries per work item. */
    static final int QB = 64;
    /** Keys per block of scores. */
    static final int KB = 256;

    /** Per-thread scores, partial output and row statistics, reused across calls. */
    private static final ThreadLocal<float[][]> SCRATCH = new ThreadLocal<>();

    private static float[][] scratch(int dv) {
        float[][] s = SCRATCH.get();
        if (s == null || s[1].length < QB * dv) {
            s = new float[][] {new float[QB * KB], new float[QB * dv], new float[QB], new float[QB]};
            SCRATCH.set(s);
        }
        return s;
    }

    /** y[b, h, sq, dv] (overwritten) of q[b, h, sq, d], k[b, h, sk, d], v[b, h, sk, dv]; causal masks key j > query i. */
    static void attention(float[] q, float[] k, float[] v, float[] y, int bh, int sq, int sk, int d, int dv, boolean causal) {
        attention(q, k, v, y, bh, sq, sk, d, dv, causal, 0);
    }

    /** Offset of row 0 of head {@code head} (of b·h): [BH, S, dim] when {@code heads} is 0, else [B, S, heads·dim]. */
    private static int rowBase(int head, int s, int dim, int heads) {
        return heads == 0 ? head * s * dim : (head / heads) * s * heads * dim + (head % heads) * dim;
    }

    /** Distance between a head's consecutive rows in that layout. */
    private static int rowStride(int dim, int heads) { return heads == 0 ? dim : heads * dim; }

    /**
     * As above; with {@code heads} > 0 the tensors are [B, S, heads·dim] with the heads side by side
     * in each token's row (the projections' layout), read and written in place, so no permute is needed.
     */
    static void attention(float[] q, float[] k, float[] v, float[] y, int bh, int sq, int sk, int d, int dv, boolean causal, int heads) {
        CpuGemm.MicroKernel kern = CpuGemm.kernel();
        int w = kern.nr();
        int skPad = roundUp(sk, w), dvPad = roundUp(dv, w);
        long kPanel = (long) skPad * d, vPanel = (long) dvPad * sk;
        float[] kp = new float[Math.toIntExact(bh * kPanel)], vp = new float[Math.toIntExact(bh * vPanel)];
        int kLd = rowStride(d, heads), vLd = rowStride(dv, heads), qLd = rowStride(d, heads), yLd = rowStride(dv, heads);
        Parallel.forRange(bh, (long) sk * (d + dv), head -> {
            // K [sk, d] as panels of w keys; Vᵀ [dv, sk] as panels of w output columns
            int kBase = rowBase(head, sk, d, heads), vBase = rowBase(head, sk, dv, heads);
            int kOut = (int) (head * kPanel), vOut = (int) (head * vPanel);
            for (int j = 0; j < sk; j++) {
                int src = kBase + j * kLd, dst = kOut + (j / w) * d * w + j % w;
                for (int p = 0; p < d; p++) kp[dst + p * w] = k[src + p];
            }
            for (int j = 0; j < sk; j++) {
                int src = vBase + j * vLd;
                for (int c0 = 0; c0 < dv; c0 += w) {
                    System.arraycopy(v, src + c0, vp, vOut + (c0 / w) * sk * w + j * w, Math.min(w, dv - c0));
                }
            }
        });
        float scale = (float) (1.0 / Math.sqrt(d));
        int qBlocks = (sq + QB - 1) / QB;
        Parallel.forRange(bh * qBlocks, (long) Math.min(sq, QB) * sk * (d + dv), item -> {
            int head = item / qBlocks, i0 = (item % qBlocks) * QB, rows = Math.min(QB, sq - i0);
            float[][] sc = scratch(dv);
            float[] s = sc[0], o = sc[1], max = sc[2], sum = sc[3];
            Arrays.fill(o, 0, rows * dv, 0f);
            Arrays.fill(max, 0, rows, Float.NEGATIVE_INFINITY);
            Arrays.fill(sum, 0, rows, 0f);
            GemmOperand qa = GemmOperand.lines(q, rowBase(head, sq, d, heads) + i0 * qLd, qLd);
            int kEnd = causal ? Math.min(sk, i0 + rows) : sk;
            for (int j0 = 0; j0 < kEnd; j0 += KB) {
                int n = Math.min(KB, kEnd - j0);
                CpuGemm.gemm(rows, n, d, qa, new GemmOperand.Prepacked(kp, (int) (head * kPanel), d, w, j0, 0), s, 0, n, false, kern);
                for (int r = 0; r < rows; r++) {
                    int len = causal ? Math.min(n, i0 + r + 1 - j0) : n, base = r * n;
                    if (len <= 0) { // every key of this block is masked for this query
                        Arrays.fill(s, base, base + n, 0f);
                        continue;
                    }
                    float m = Softmax.max(s, base, len) * scale, mNew = Math.max(max[r], m);
                    float e = Softmax.expShifted(s, base, len, scale, mNew);
                    if (len < n) Arrays.fill(s, base + len, base + n, 0f);
                    float alpha = (float) Math.exp(max[r] - mNew); // 0 on the first block (max was -inf)
                    sum[r] = sum[r] * alpha + e;
                    max[r] = mNew;
                    if (alpha != 1f) for (int c = 0; c < dv; c++) o[r * dv + c] *= alpha;
                }
                CpuGemm.gemm(rows, dv, n, GemmOperand.lines(s, 0, n), new GemmOperand.Prepacked(vp, (int) (head * vPanel), sk, w, 0, j0),
                        o, 0, dv, false, kern, true);
            }
            for (int r = 0; r < rows; r++) {
                float inv = 1f / sum[r];
                int dst = rowBase(head, sq, dv, heads) + (i0 + r) * yLd;
                for (int c = 0; c < dv; c++) y[dst + c] = o[r * dv + c] * inv;
            }
        });
    }

    private static int roundUp(int x, int m) { return (x + m - 1) / m * m; }
}
