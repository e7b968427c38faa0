package io.jdiffusion.tensor.cpu;

/**
 * Single-precision GEMM kernels of the CPU backend: C[M, N] = A[M, K] · op(B) where op(B) is
 * B[K, N] or, when {@code bTransposed}, B[N, K]^T. Row-major, arbitrary offsets.
 */
final class CpuGemm {
    private CpuGemm() {}

    static void sgemm(int m, int n, int k,
                      float[] a, int aOff, float[] b, int bOff, boolean bTransposed,
                      float[] c, int cOff) {
        if (bTransposed) {
            Parallel.forRange(m, (long) n * k, i -> {
                int ai = aOff + i * k;
                for (int j = 0; j < n; j++) {
                    int bj = bOff + j * k;
                    float s = 0f;
                    for (int p = 0; p < k; p++) s += a[ai + p] * b[bj + p];
                    c[cOff + i * n + j] = s;
                }
            });
        } else {
            Parallel.forRange(m, (long) n * k, i -> {
                int ci = cOff + i * n;
                java.util.Arrays.fill(c, ci, ci + n, 0f);
                for (int p = 0; p < k; p++) {
                    float av = a[aOff + i * k + p];
                    int bp = bOff + p * n;
                    for (int j = 0; j < n; j++) c[ci + j] += av * b[bp + j];
                }
            });
        }
    }
}
