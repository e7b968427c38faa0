package io.jdiffusion.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * The Vector API path of {@link CpuGemm}: A and B blocks are packed into 8-row and
 * (2 vector)-column panels and an 8×(2 vector) tile of C is accumulated in 16 vector registers
 * (the BLIS scheme). Only loaded when {@code jdk.incubator.vector} is in the boot layer.
 */
final class VectorGemm {
    private VectorGemm() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    static final int MR = 8;
    static final int NR = 2 * L;
    private static final int KC = 256;

    private record Buffers(float[] a, float[] b, float[] tile) {}

    private static final ThreadLocal<Buffers> BUFFERS = ThreadLocal.withInitial(() -> new Buffers(
            new float[KC * ceil(CpuGemm.MC, MR)], new float[KC * ceil(CpuGemm.NC, NR)], new float[MR * NR]));

    private static int ceil(int x, int m) { return (x + m - 1) / m * m; }

    /** C[i0:i0+mc, j0:j0+nc] of the product (see {@link CpuGemm#sgemm}). */
    static void tile(int i0, int mc, int j0, int nc, int k,
                     float[] a, int aOff, int lda, float[] b, int bOff, int ldb, boolean bTransposed,
                     float[] c, int cOff, int ldc) {
        Buffers buf = BUFFERS.get();
        float[] ap = buf.a, bp = buf.b, tmp = buf.tile;
        for (int i = 0; i < mc; i++) Arrays.fill(c, cOff + (i0 + i) * ldc + j0, cOff + (i0 + i) * ldc + j0 + nc, 0f);
        for (int p0 = 0; p0 < k; p0 += KC) {
            int kc = Math.min(KC, k - p0);
            for (int jr = 0; jr < nc; jr += NR) {
                CpuGemm.packRows(bp, jr * kc, NR, p0, kc, j0 + jr, Math.min(NR, nc - jr), b, bOff, ldb, bTransposed);
            }
            for (int ir = 0; ir < mc; ir += MR) packA(ap, ir * kc, a, aOff + (i0 + ir) * lda + p0, lda, Math.min(MR, mc - ir), kc);
            for (int jr = 0; jr < nc; jr += NR) {
                int nr = Math.min(NR, nc - jr);
                for (int ir = 0; ir < mc; ir += MR) {
                    int mr = Math.min(MR, mc - ir);
                    int co = cOff + (i0 + ir) * ldc + j0 + jr;
                    if (mr == MR && nr == NR) {
                        kernel(kc, ap, ir * kc, bp, jr * kc, c, co, ldc);
                    } else {
                        Arrays.fill(tmp, 0f);
                        kernel(kc, ap, ir * kc, bp, jr * kc, tmp, 0, NR);
                        for (int r = 0; r < mr; r++) {
                            for (int j = 0; j < nr; j++) c[co + r * ldc + j] += tmp[r * NR + j];
                        }
                    }
                }
            }
        }
    }

    /** rows×kc of A (row stride lda) into ap[p * MR + r], rows past {@code rows} zero. */
    private static void packA(float[] ap, int dOff, float[] a, int aOff, int lda, int rows, int kc) {
        for (int r = 0; r < rows; r++) {
            int s = aOff + r * lda;
            for (int p = 0; p < kc; p++) ap[dOff + p * MR + r] = a[s + p];
        }
        for (int r = rows; r < MR; r++) for (int p = 0; p < kc; p++) ap[dOff + p * MR + r] = 0f;
    }

    /** c[0:8, 0:NR] (row stride ldc) += ap-panel · bp-panel over kc. */
    private static void kernel(int kc, float[] ap, int ao, float[] bp, int bo, float[] c, int co, int ldc) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
                c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
        for (int p = 0; p < kc; p++) {
            int bi = bo + p * NR, ai = ao + p * MR;
            FloatVector b0 = FloatVector.fromArray(S, bp, bi), b1 = FloatVector.fromArray(S, bp, bi + L);
            FloatVector av;
            av = FloatVector.broadcast(S, ap[ai]);     c00 = av.fma(b0, c00); c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, ap[ai + 1]); c10 = av.fma(b0, c10); c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, ap[ai + 2]); c20 = av.fma(b0, c20); c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, ap[ai + 3]); c30 = av.fma(b0, c30); c31 = av.fma(b1, c31);
            av = FloatVector.broadcast(S, ap[ai + 4]); c40 = av.fma(b0, c40); c41 = av.fma(b1, c41);
            av = FloatVector.broadcast(S, ap[ai + 5]); c50 = av.fma(b0, c50); c51 = av.fma(b1, c51);
            av = FloatVector.broadcast(S, ap[ai + 6]); c60 = av.fma(b0, c60); c61 = av.fma(b1, c61);
            av = FloatVector.broadcast(S, ap[ai + 7]); c70 = av.fma(b0, c70); c71 = av.fma(b1, c71);
        }
        addRow(c00, c01, c, co);
        addRow(c10, c11, c, co + ldc);
        addRow(c20, c21, c, co + 2 * ldc);
        addRow(c30, c31, c, co + 3 * ldc);
        addRow(c40, c41, c, co + 4 * ldc);
        addRow(c50, c51, c, co + 5 * ldc);
        addRow(c60, c61, c, co + 6 * ldc);
        addRow(c70, c71, c, co + 7 * ldc);
    }

    private static void addRow(FloatVector v0, FloatVector v1, float[] c, int o) {
        FloatVector.fromArray(S, c, o).add(v0).intoArray(c, o);
        FloatVector.fromArray(S, c, o + L).add(v1).intoArray(c, o + L);
    }
}
