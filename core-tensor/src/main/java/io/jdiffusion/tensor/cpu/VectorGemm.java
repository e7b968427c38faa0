package io.jdiffusion.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API micro-kernel of {@link CpuGemm}: an 8×(2 vector) block of C accumulated in 16
 * vector registers (8×32 floats with AVX-512), fed by packed panels. Only loaded when
 * {@code jdk.incubator.vector} is in the boot layer.
 */
final class VectorGemm {
    private VectorGemm() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    static final int MR = 8;
    static final int NR = 2 * L;
    /** The kernel {@link CpuGemm} runs when the Vector API is present. */
    static final CpuGemm.MicroKernel KERNEL = new CpuGemm.MicroKernel() {
        @Override public int mr() { return MR; }
        @Override public int nr() { return NR; }

        @Override
        public void run(int kc, float[] ap, int ao, float[] bp, int bo, float[] c, int co, int ldc) {
            kernel(kc, ap, ao, bp, bo, c, co, ldc, false);
        }

        @Override
        public void store(int kc, float[] ap, int ao, float[] bp, int bo, float[] c, int co, int ldc) {
            kernel(kc, ap, ao, bp, bo, c, co, ldc, true);
        }
    };

    /** c[0:8, 0:NR] (row stride ldc) += ap-panel · bp-panel over kc, or = when {@code store}. */
    static void kernel(int kc, float[] ap, int ao, float[] bp, int bo, float[] c, int co, int ldc, boolean store) {
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
        // the epilogue helper must stay under C2's always-inline size (35 bytes): a vector passed to
        // a call that is not inlined gets boxed, and then the whole loop runs on boxed vectors (5x slower)
        put(c00, c, co, store); put(c01, c, co + L, store); co += ldc;
        put(c10, c, co, store); put(c11, c, co + L, store); co += ldc;
        put(c20, c, co, store); put(c21, c, co + L, store); co += ldc;
        put(c30, c, co, store); put(c31, c, co + L, store); co += ldc;
        put(c40, c, co, store); put(c41, c, co + L, store); co += ldc;
        put(c50, c, co, store); put(c51, c, co + L, store); co += ldc;
        put(c60, c, co, store); put(c61, c, co + L, store); co += ldc;
        put(c70, c, co, store); put(c71, c, co + L, store);
    }

    private static void put(FloatVector v, float[] c, int o, boolean store) {
        (store ? v : FloatVector.fromArray(S, c, o).add(v)).intoArray(c, o);
    }
}
