package io.jdiffusion.tensor.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The exact (erf) GELU of {@link CpuBackend#gelu(float)} on the Vector API: the same double
 * arithmetic as {@link Erf} (Cody's rational approximations, the same operations in the same
 * order) in double lanes, rounded to float once. Only the exponential differs (the Vector API's
 * instead of {@link Math#exp}, both within an ulp of a double), so the float results agree with
 * the scalar path except where a double lands within that ulp of a float rounding boundary.
 * Only loaded when {@code jdk.incubator.vector} is in the boot layer.
 */
final class VectorGelu {
    private VectorGelu() {}

    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    /** Floats in as many lanes as {@link #D} has doubles. */
    private static final VectorSpecies<Float> F = VectorSpecies.of(float.class, VectorShape.forBitSize(D.length() * Float.SIZE));
    private static final int L = D.length();

    /** y[yOff + i] = gate[gOff + i] · gelu(x[xOff + i]) for i in [0, n) (GEGLU); {@code gate} null: gelu alone. */
    static void geluTimes(float[] x, int xOff, float[] gate, int gOff, float[] y, int yOff, int n) {
        int i = 0;
        for (; i <= n - L; i += L) {
            DoubleVector v = (DoubleVector) FloatVector.fromArray(F, x, xOff + i).convertShape(VectorOperators.F2D, D, 0);
            // erf(u), u = v/√2, as Erf.erf, written out here: a vector passed to a call C2 does not inline is boxed
            DoubleVector u = v.mul(0.7071067811865476), au = u.abs(), t = u.mul(u);
            // |u| < 0.5
            DoubleVector top = t.mul(0.185777706184603153).add(3.16112374387056560).mul(t).add(113.864154151050156).mul(t)
                    .add(377.485237685302021).mul(t).add(3209.37758913846947);
            DoubleVector bot = t.add(23.6012909523441209).mul(t).add(244.024637934444173).mul(t).add(1282.61652607737228).mul(t)
                    .add(2844.23683343917062);
            DoubleVector small = u.mul(top).div(bot);
            DoubleVector e = au.mul(au).neg().lanewise(VectorOperators.EXP); // exp(-au·au); (-au)·au is the same value
            // [0.5, 4)
            top = au.mul(2.15311535474403846e-8).add(0.564188496988670089).mul(au).add(8.88314979438837594).mul(au)
                    .add(66.1191906371416295).mul(au).add(298.635138197400131).mul(au).add(881.952221241769090).mul(au)
                    .add(1712.04761263407058).mul(au).add(2051.07837782607147).mul(au).add(1230.33935479799725);
            bot = au.add(15.7449261107098347).mul(au).add(117.693950891312499).mul(au).add(537.181101862009858).mul(au)
                    .add(1621.38957456669019).mul(au).add(3290.79923573345963).mul(au).add(4362.61909014324716).mul(au)
                    .add(3439.36767414372164).mul(au).add(1230.33935480374942);
            DoubleVector erf = DoubleVector.broadcast(D, 1.0).sub(e.mul(top).div(bot));
            VectorMask<Double> far = au.compare(VectorOperators.GE, 4.0);
            if (far.anyTrue()) { // [4, 27), and 1 beyond
                DoubleVector z = DoubleVector.broadcast(D, 1.0).div(au.mul(au));
                top = z.mul(0.0163153871373020978).add(0.305326634961232344).mul(z).add(0.360344899949804439).mul(z)
                        .add(0.125781726111229246).mul(z).add(0.0160837851487422766).mul(z).add(6.58749161529837803e-4);
                bot = z.add(2.56852019228982242).mul(z).add(1.87295284992346725).mul(z).add(0.527905102951428412).mul(z)
                        .add(0.0605183413124413191).mul(z).add(0.00233520497626869185);
                DoubleVector tail = DoubleVector.broadcast(D, 1.0)
                        .sub(e.div(au).mul(DoubleVector.broadcast(D, 0.564189583547756287).sub(z.mul(top).div(bot))));
                erf = erf.blend(tail, far).blend(1.0, au.compare(VectorOperators.GE, 27.0));
            }
            erf = erf.blend(erf.neg(), u.compare(VectorOperators.LT, 0.0))
                    .blend(small, au.compare(VectorOperators.LT, 0.5)).blend(u, u.test(VectorOperators.IS_NAN));
            DoubleVector g = v.mul(0.5).mul(erf.add(1.0));
            FloatVector r = (FloatVector) g.convertShape(VectorOperators.D2F, F, 0);
            if (gate != null) r = FloatVector.fromArray(F, gate, gOff + i).mul(r);
            r.intoArray(y, yOff + i);
        }
        for (; i < n; i++) { // the tail: fewer than L elements
            float g = CpuBackend.gelu(x[xOff + i]);
            y[yOff + i] = gate == null ? g : gate[gOff + i] * g;
        }
    }
}
