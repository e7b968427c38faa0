package io.jdiffusion.tensor.cuda;

import io.jdiffusion.tensor.Backends;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tensor-core attention's foundations: the mma fragment layout the kernel assumes (checked on
 * whatever runs the kernels: the emulator, or a GPU) and the runtime self-check's fallback.
 */
@SuppressWarnings("try")
class FusedAttentionTest {
    private static CudaBackend open(DType t) {
        Backends.CudaAvailability a = Backends.cudaAvailability();
        Assumptions.assumeTrue(a.available(), "CUDA test skipped: " + a.reason());
        return CudaBackend.create(Backends.cudaDevice(), t, 0);
    }

    @Test
    void documentedLayoutCoversEachElementOnce() {
        Set<Integer> a = new HashSet<>(), b = new HashSet<>(), c = new HashSet<>();
        for (int l = 0; l < MmaLayout.LANES; l++) {
            for (int i = 0; i < 8; i++) assertTrue(a.add(MmaLayout.aRow(l, i) * 16 + MmaLayout.aCol(l, i)), "A element twice");
            for (int i = 0; i < 4; i++) assertTrue(b.add(MmaLayout.bRow(l, i) * 8 + MmaLayout.bCol(l, i)), "B element twice");
            for (int i = 0; i < 4; i++) assertTrue(c.add(MmaLayout.cRow(l, i) * 8 + MmaLayout.cCol(l, i)), "C element twice");
        }
        assertEquals(256, a.size());
        assertEquals(128, b.size());
        assertEquals(128, c.size());
        // spot values of the PTX ISA's figures: lane 5 (g 1, t 1) holds a0 = A[1][2], a7 = A[9][11], b3 = B[11][1], c2 = C[9][2]
        assertEquals(1, MmaLayout.aRow(5, 0)); assertEquals(2, MmaLayout.aCol(5, 0));
        assertEquals(9, MmaLayout.aRow(5, 7)); assertEquals(11, MmaLayout.aCol(5, 7));
        assertEquals(11, MmaLayout.bRow(5, 3)); assertEquals(1, MmaLayout.bCol(5, 3));
        assertEquals(9, MmaLayout.cRow(5, 2)); assertEquals(2, MmaLayout.cCol(5, 2));
    }

    /**
     * One mma.m16n8k16 on fragments arranged by the documented layout gives A·B exactly (small
     * integers: every product and sum is exact in F32), and one-hot matrices show each element
     * lands where the layout says.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "BF16"})
    void mmaMatchesTheDocumentedFragmentLayout(DType t) {
        try (CudaBackend be = open(t)) {
            Random r = new Random(7);
            float[] a = new float[16 * 16], b = new float[16 * 8];
            for (int i = 0; i < a.length; i++) a[i] = r.nextInt(9) - 4;
            for (int i = 0; i < b.length; i++) b[i] = r.nextInt(9) - 4;
            assertArrayEquals(product(a, b), run(be, t, a, b), "D = A B with random small integers");
            // one-hot: A = E(i, k), B = E(k, j) → D = E(i, j) for a sample of (i, k, j)
            for (int[] ikj : new int[][] {{0, 0, 0}, {1, 2, 3}, {9, 11, 1}, {15, 15, 7}, {8, 7, 4}, {3, 8, 6}}) {
                float[] ea = new float[16 * 16], eb = new float[16 * 8];
                ea[ikj[0] * 16 + ikj[1]] = 1;
                eb[ikj[1] * 8 + ikj[2]] = 1;
                float[] expected = new float[16 * 8];
                expected[ikj[0] * 8 + ikj[2]] = 1;
                assertArrayEquals(expected, run(be, t, ea, eb), "one-hot A[" + ikj[0] + "][" + ikj[1] + "] B[" + ikj[1] + "][" + ikj[2] + "]");
            }
        }
    }

    private static float[] run(CudaBackend be, DType t, float[] a, float[] b) {
        return MmaLayout.matrixOfD(be.mmaProbe(MmaLayout.fragmentsOfA(raw(a, t)), MmaLayout.fragmentsOfB(raw(b, t))));
    }

    private static short[] raw(float[] x, DType t) {
        short[] s = new short[x.length];
        for (int i = 0; i < x.length; i++) s[i] = t == DType.BF16 ? (short) (Float.floatToIntBits(x[i]) >>> 16) : Float.floatToFloat16(x[i]);
        return s;
    }

    private static float[] product(float[] a, float[] b) {
        float[] d = new float[16 * 8];
        for (int i = 0; i < 16; i++) for (int j = 0; j < 8; j++) {
            float s = 0;
            for (int k = 0; k < 16; k++) s += a[i * 16 + k] * b[k * 8 + j];
            d[i * 8 + j] = s;
        }
        return d;
    }

    @Test
    void selfCheckPassesAndAForcedMismatchFallsBack() {
        try (CudaBackend be = open(DType.F16)) {
            assertTrue(be.useFused(64, 64, false), "the fused kernel passes its self-check for head size 64");
            assertFalse(be.useFused(64, 64, true), "causal attention stays on the CUDA-core kernel");
            be.forceFusedMismatch = true;
            assertFalse(be.useFused(80, 80, false), "a mismatch on the self-check falls back for head size 80");
            assertTrue(be.useFused(64, 64, false), "an earlier passed check is remembered");
            // the fallback still computes attention correctly (CUDA-core kernel), in both layouts
            Random r = new Random(3);
            float[] q = new float[2 * 19 * 160], k = new float[2 * 30 * 160];
            for (int i = 0; i < q.length; i++) q[i] = (float) r.nextGaussian();
            for (int i = 0; i < k.length; i++) k[i] = (float) r.nextGaussian();
            try (var s = be.openScope()) {
                Tensor qt = be.fromFloats(q, 2, 19, 160), kt = be.fromFloats(k, 2, 30, 160);
                float[] heads = be.attentionHeads(qt, kt, kt, 2).toFloatArray();
                float[] split = be.attention(split(be, qt, 2), split(be, kt, 2), split(be, kt, 2), false).toFloatArray();
                float[] merged = be.permute(Tensor.of(split, 2, 2, 19, 80), 0, 2, 1, 3).toFloatArray();
                assertArrayEquals(merged, heads, 0f, "fallback attentionHeads = split, attention, merge");
            }
        }
    }

    /** K and V one element off 16-byte alignment: the kernel's scalar tile loads, against the 16-byte ones. */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F16", "BF16"})
    void misalignedKeysTakeTheScalarLoadsWithTheSameResult(DType t) {
        try (CudaBackend be = open(t); var s = be.openScope()) {
            Random r = new Random(11);
            int sq = 70, sk = 77, d = 64, n = sk * d;
            float[] q = new float[sq * d], kv = new float[n + 1];
            for (int i = 0; i < q.length; i++) q[i] = (float) r.nextGaussian();
            for (int i = 0; i < kv.length; i++) kv[i] = (float) r.nextGaussian();
            Tensor qt = be.fromFloats(q, 1, 1, sq, d), whole = be.fromFloats(kv, n + 1);
            Tensor shifted = whole.slice(1, n + 1).reshape(1, 1, sk, d);            // 2 bytes past an aligned address
            Tensor aligned = be.fromFloats(java.util.Arrays.copyOfRange(kv, 1, n + 1), 1, 1, sk, d);
            assertTrue(be.useFused(d, d, false));
            float[] scalar = be.attention(qt, shifted, shifted, false).toFloatArray();
            float[] vector = be.attention(qt, aligned, aligned, false).toFloatArray();
            assertArrayEquals(vector, scalar, 0f, "scalar and 16-byte tile loads give identical results");
        }
    }

    private static Tensor split(CudaBackend be, Tensor t, int heads) {
        return be.permute(t.reshape(t.dim(0), t.dim(1), heads, t.dim(2) / heads), 0, 2, 1, 3);
    }
}
