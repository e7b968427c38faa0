package io.jdiffusion.tensor.cpu;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Both GEMM implementations against a naive triple loop in double, on awkward shapes. */
class CpuGemmTest {
    /** The implementations this JVM can run (VectorKernelTest runs the Vector API one in a child JVM). */
    static List<CpuGemm.Impl> impls() {
        List<CpuGemm.Impl> l = new ArrayList<>(List.of(CpuGemm.Impl.SCALAR));
        if (CpuGemm.VECTOR) l.add(CpuGemm.Impl.VECTOR);
        return l;
    }

    /**
     * C = A op(B) with A rows lda apart, B rows ldb apart, C rows ldc apart, all at offsets, in a
     * C buffer whose gaps must stay untouched; checked element by element against a double loop
     * with a bound of k·2^-23 times the sum of |a·b| (the float accumulation error bound).
     */
    static void check(CpuGemm.Impl impl, int m, int n, int k, boolean bt, int pad, boolean parallel) {
        int lda = k + pad, ldb = (bt ? k : n) + pad, ldc = n + pad;
        int aOff = 3, bOff = 5, cOff = 7;
        float[] a = Ref.random(m * 31L + k, aOff + m * lda);
        float[] b = Ref.random(n * 17L + k + 1, bOff + (bt ? n : k) * ldb);
        float[] c = new float[cOff + m * ldc + 2];
        Arrays.fill(c, 42f); // every C element is overwritten; the gaps keep 42
        CpuGemm.sgemm(m, n, k, a, aOff, lda, b, bOff, ldb, bt, c, cOff, ldc, parallel, impl);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0, sa = 0;
                for (int p = 0; p < k; p++) {
                    double bv = bt ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
                    double t = a[aOff + i * lda + p] * bv;
                    s += t;
                    sa += Math.abs(t);
                }
                float got = c[cOff + i * ldc + j];
                double tol = k * 0x1p-23 * sa + 1e-30;
                if (!(Math.abs(got - s) <= tol)) {
                    fail(impl + " " + m + "x" + k + "x" + n + (bt ? " B^T" : "") + " pad " + pad + ": C[" + i + "," + j + "] = " + got + ", expected " + s + " (tol " + tol + ")");
                }
            }
            for (int j = n; j < ldc && i < m - 1; j++) assertEquals(42f, c[cOff + i * ldc + j], "gap of row " + i + " written");
        }
        for (int i = 0; i < cOff; i++) assertEquals(42f, c[i], "before C written");
    }

    /** m, n, k: sizes around the vector width, the micro-tile and the tile/blocking boundaries. */
    static final int[][] SHAPES = {
                {1, 1, 1}, {1, 5, 3}, {7, 1, 9}, {8, 32, 16}, {9, 33, 17}, {15, 31, 7}, {3, 100, 1},
                {17, 65, 129}, {130, 40, 20},     // m beyond one tile of rows (MC = 128)
                {20, 530, 11},                    // n beyond one tile of columns (NC = 512)
                {12, 40, 300},                    // k beyond one packed block (KC = 256)
                {136, 520, 260},                  // all three at once, none a multiple of the vector width
    };

    @Test
    void matchesNaiveLoopsOnEdgeShapes() {
        for (CpuGemm.Impl impl : impls()) {
            for (int[] s : SHAPES) {
                for (boolean bt : new boolean[] {false, true}) {
                    check(impl, s[0], s[1], s[2], bt, 0, true);
                    check(impl, s[0], s[1], s[2], bt, 3, false);
                }
            }
        }
    }

    /**
     * Parallel products with few row tiles are cut into narrower column tiles (tileWidth) so both
     * cores work; tiles only split the output, so every element is the same sum in the same order:
     * bit for bit the result of the one-thread product, which keeps full-width tiles.
     */
    @Test
    void narrowParallelTilesGiveTheSameBits() {
        assertTrue(CpuGemm.tileWidth(1, 1280, 32) < CpuGemm.NC || Parallel.THREADS == 1, "a 1-row-tile product is cut narrower");
        java.util.Random r = new java.util.Random(5);
        int m = 70, n = 1280, k = 300;
        float[] a = new float[m * k], b = new float[n * k];
        for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian();
        for (int i = 0; i < b.length; i++) b[i] = (float) r.nextGaussian();
        for (CpuGemm.Impl impl : impls()) {
            float[] serial = new float[m * n], parallel = new float[m * n];
            CpuGemm.sgemm(m, n, k, a, 0, k, b, 0, k, true, serial, 0, n, false, impl);
            CpuGemm.sgemm(m, n, k, a, 0, k, b, 0, k, true, parallel, 0, n, true, impl);
            assertTrue(Arrays.equals(serial, parallel), impl + ": parallel narrow tiles changed the result");
        }
    }

    @Test
    void emptyDimensions() {
        for (CpuGemm.Impl impl : impls()) {
            float[] c = {5f, 5f, 5f, 5f};
            CpuGemm.sgemm(2, 2, 0, new float[0], 0, 0, new float[0], 0, 2, false, c, 0, 2, true, impl);
            assertTrue(Arrays.equals(new float[] {0, 0, 0, 0}, c), "k = 0 gives zeros: " + Arrays.toString(c));
            CpuGemm.sgemm(0, 2, 3, new float[0], 0, 3, new float[6], 0, 2, false, c, 0, 2, true, impl); // no rows: no-op
        }
        assertThrows(IllegalArgumentException.class, () -> CpuGemm.sgemm(-1, 2, 2, new float[4], 0, new float[4], 0, false, new float[4], 0));
    }

    @Test
    void nonFiniteValuesPropagate() {
        for (CpuGemm.Impl impl : impls()) {
            float[] a = {1f, Float.POSITIVE_INFINITY, 0f, 1f}; // [[1, inf], [0, 1]]
            float[] b = {0f, 1f, 2f, 3f};                        // [[0, 1], [2, 3]]
            float[] c = new float[4];
            CpuGemm.sgemm(2, 2, 2, a, 0, 2, b, 0, 2, false, c, 0, 2, true, impl);
            assertEquals(Float.POSITIVE_INFINITY, c[0]);
            assertEquals(2f, c[2]);
            assertEquals(3f, c[3]);
            a[1] = Float.NaN;
            CpuGemm.sgemm(2, 2, 2, a, 0, 2, b, 0, 2, false, c, 0, 2, true, impl);
            assertTrue(Float.isNaN(c[0]) && Float.isNaN(c[1]), Arrays.toString(c));
        }
    }
}
