package io.jdiffusion.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** The {@link Softmax} row kernels on the Vector API; only loaded when {@code jdk.incubator.vector} is in the boot layer. */
final class VectorMath {
    private VectorMath() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    static float max(float[] x, int off, int n) {
        FloatVector m = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (; i <= n - L; i += L) m = m.max(FloatVector.fromArray(S, x, off + i));
        if (i < n) { // the tail in one masked vector (the masked-off lanes stay -inf)
            m = m.max(FloatVector.fromArray(S, x, off + i, S.indexInRange(i, n)).blend(Float.NEGATIVE_INFINITY, S.indexInRange(i, n).not()));
        }
        return m.reduceLanes(VectorOperators.MAX);
    }

    static float expShifted(float[] x, int off, int n, float scale, float shift) {
        FloatVector acc = FloatVector.zero(S), sv = FloatVector.broadcast(S, scale), sh = FloatVector.broadcast(S, -shift);
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector e = FloatVector.fromArray(S, x, off + i).fma(sv, sh).lanewise(VectorOperators.EXP);
            e.intoArray(x, off + i);
            acc = acc.add(e);
        }
        if (i < n) { // the tail in one masked vector: a scalar exp costs about as much as a vector one
            VectorMask<Float> tail = S.indexInRange(i, n);
            FloatVector e = FloatVector.fromArray(S, x, off + i, tail).fma(sv, sh).lanewise(VectorOperators.EXP).blend(0f, tail.not());
            e.intoArray(x, off + i, tail);
            acc = acc.add(e);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }
}
