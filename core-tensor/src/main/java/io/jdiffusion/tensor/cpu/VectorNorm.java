package io.jdiffusion.tensor.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The output pass of the CPU GroupNorm fused with SiLU on the Vector API (the scalar exp was most
 * of its time), in double lanes with the scalar loop's operations in the same order, so the
 * results are the scalar path's (the exp is the Vector API's, within an ulp of {@link Math#exp}
 * in double, before the rounding to float). The statistics passes stay scalar. Only loaded when
 * {@code jdk.incubator.vector} is in the boot layer.
 */
final class VectorNorm {
    private VectorNorm() {}

    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Float> F = VectorSpecies.of(float.class, VectorShape.forBitSize(D.length() * Float.SIZE));
    private static final int L = D.length();

    /** y[off + i] = silu((float) ((x[off + i] − mean)·scale + shift)) for i in [0, n). */
    static void affineSilu(float[] x, float[] y, int off, int n, double mean, double scale, double shift) {
        int i = 0;
        for (; i <= n - L; i += L) {
            DoubleVector d = (DoubleVector) FloatVector.fromArray(F, x, off + i).convertShape(VectorOperators.F2D, D, 0);
            FloatVector v = (FloatVector) d.sub(mean).mul(scale).add(shift).convertShape(VectorOperators.D2F, F, 0);
            // v / (1 + (float) exp(-v)), the exp in double as Math.exp
            DoubleVector neg = ((DoubleVector) v.convertShape(VectorOperators.F2D, D, 0)).neg();
            FloatVector e = (FloatVector) neg.lanewise(VectorOperators.EXP).convertShape(VectorOperators.D2F, F, 0);
            v.div(e.add(1f)).intoArray(y, off + i);
        }
        for (; i < n; i++) {
            y[off + i] = CpuBackend.silu((float) ((x[off + i] - mean) * scale + shift));
        }
    }
}
