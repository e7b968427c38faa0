package io.jdiffusion.tensor.cpu;

import java.util.Arrays;

/**
 * Single-precision GEMM of the CPU backend: C[M, N] = A[M, K] · op(B), where op(B) is B[K, N] or,
 * when {@code bTransposed}, B[N, K]^T. Row-major, arbitrary offsets; C is overwritten.
 *
 * <p>Two implementations share the same tiling of C into independent {@link #MC}×{@link #NC}
 * tiles spread over the cores:
 * <ul>
 *   <li>{@link VectorGemm}: a packed 8×(2 vector) register-blocked micro-kernel on the Vector API.
 *       Used when the JVM was started with {@code --add-modules jdk.incubator.vector} (which makes
 *       the JVM print an incubator warning at start, so it is opt-in).</li>
 *   <li>{@link #tileAxpy} (default): B is packed into contiguous rows and each row of C is
 *       updated with long {@code c[j] += a * b[j]} loops, the loop shape C2 auto-vectorises best
 *       (short or multi-row loops fall back to scalar code, see docs/benchmarks.md).</li>
 * </ul>
 */
final class CpuGemm {
    private CpuGemm() {}

    /** Rows of C per parallel tile. */
    static final int MC = 128;
    /** Columns of C per parallel tile. */
    static final int NC = 512;
    /** Depth of one packed block of A and B (keeps the B block in L2). */
    static final int KC = 128;

    /** True when the Vector API is available in this JVM and not switched off with -Djdiffusion.vector=false. */
    static final boolean VECTOR = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
            && !"false".equals(System.getProperty("jdiffusion.vector"));

    /** Which inner loops to use; tests run both. */
    enum Impl { AUTO, SCALAR, VECTOR }

    static void sgemm(int m, int n, int k,
                      float[] a, int aOff, float[] b, int bOff, boolean bTransposed,
                      float[] c, int cOff) {
        sgemm(m, n, k, a, aOff, k, b, bOff, bTransposed ? k : n, bTransposed, c, cOff, n, true, Impl.AUTO);
    }

    /**
     * The general form: A rows start {@code lda} apart, B rows (of [K, N], or of [N, K] when
     * transposed) {@code ldb} apart, C rows {@code ldc} apart; {@code parallel} false runs on the
     * calling thread (for callers that parallelise themselves).
     */
    static void sgemm(int m, int n, int k,
                      float[] a, int aOff, int lda, float[] b, int bOff, int ldb, boolean bTransposed,
                      float[] c, int cOff, int ldc, boolean parallel, Impl impl) {
        if (m < 0 || n < 0 || k < 0) throw new IllegalArgumentException("sgemm: negative size " + m + "x" + k + "x" + n);
        if (m == 0 || n == 0) return;
        if (k == 0) {
            for (int i = 0; i < m; i++) Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, 0f);
            return;
        }
        boolean vector = switch (impl) {
            case AUTO -> VECTOR;
            case SCALAR -> false;
            case VECTOR -> {
                if (!VECTOR) throw new IllegalStateException("the Vector API is not available (start the JVM with --add-modules jdk.incubator.vector)");
                yield true;
            }
        };
        int tm = (m + MC - 1) / MC, tn = (n + NC - 1) / NC;
        int tiles = tm * tn;
        Parallel.IntBody tile = t -> {
            int i0 = (t / tn) * MC, j0 = (t % tn) * NC;
            int mc = Math.min(MC, m - i0), nc = Math.min(NC, n - j0);
            if (vector) {
                VectorGemm.tile(i0, mc, j0, nc, k, a, aOff, lda, b, bOff, ldb, bTransposed, c, cOff, ldc);
            } else {
                tileAxpy(i0, mc, j0, nc, k, a, aOff, lda, b, bOff, ldb, bTransposed, c, cOff, ldc);
            }
        };
        if (parallel) {
            Parallel.forRange(tiles, (long) Math.min(m, MC) * Math.min(n, NC) * k, tile);
        } else {
            for (int t = 0; t < tiles; t++) tile.accept(t);
        }
    }

    private static final ThreadLocal<float[]> B_BLOCK = ThreadLocal.withInitial(() -> new float[KC * NC]);

    /** C[i0:i0+mc, j0:j0+nc] of the product, by row-wise axpy over a packed block of B. */
    static void tileAxpy(int i0, int mc, int j0, int nc, int k,
                         float[] a, int aOff, int lda, float[] b, int bOff, int ldb, boolean bTransposed,
                         float[] c, int cOff, int ldc) {
        float[] bp = B_BLOCK.get();
        for (int i = 0; i < mc; i++) Arrays.fill(c, cOff + (i0 + i) * ldc + j0, cOff + (i0 + i) * ldc + j0 + nc, 0f);
        for (int p0 = 0; p0 < k; p0 += KC) {
            int kc = Math.min(KC, k - p0);
            packRows(bp, 0, nc, p0, kc, j0, nc, b, bOff, ldb, bTransposed);
            for (int i = 0; i < mc; i++) {
                int ai = aOff + (i0 + i) * lda + p0;
                int ci = cOff + (i0 + i) * ldc + j0;
                for (int p = 0; p < kc; p++) {
                    float av = a[ai + p];
                    int bo = p * nc;
                    for (int j = 0; j < nc; j++) c[ci + j] += av * bp[bo + j];
                }
            }
        }
    }

    /**
     * Copies op(B)[p0:p0+kc, j0:j0+width] into {@code dst} from {@code dOff} on as kc rows of
     * {@code ld} floats (columns past width are zero when ld > width).
     */
    static void packRows(float[] dst, int dOff, int ld, int p0, int kc, int j0, int width,
                         float[] b, int bOff, int ldb, boolean bTransposed) {
        if (!bTransposed) {
            for (int p = 0; p < kc; p++) {
                int d = dOff + p * ld;
                System.arraycopy(b, bOff + (p0 + p) * ldb + j0, dst, d, width);
                if (ld > width) Arrays.fill(dst, d + width, d + ld, 0f);
            }
        } else {
            // B is [N, K]: column j of op(B) is row j of b, contiguous in p.
            for (int j = 0; j < width; j++) {
                int s = bOff + (j0 + j) * ldb + p0;
                for (int p = 0; p < kc; p++) dst[dOff + p * ld + j] = b[s + p];
            }
            if (ld > width) for (int p = 0; p < kc; p++) Arrays.fill(dst, dOff + p * ld + width, dOff + p * ld + ld, 0f);
        }
    }
}
