package io.jdiffusion.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The exact (erf) GELU of {@link CpuBackend#gelu(float)} on the Vector API, in float lanes:
 * Cody's rational approximations of erf and erfc (the coefficients of {@link Erf}) evaluated in
 * float, so each vector holds twice the lanes of a double one and the division and exponential
 * are the float ones. Two things keep it within a few float ulps of the double-precision scalar
 * path everywhere: for |x/√2| ≥ 0.5, 1 ± erf is taken as erfc or 2 − erfc, never as 1 − (1 − erfc)
 * (no cancellation in the negative tail), and exp(−u²) is exp(−h)·(1 − l) with h + l = x²/2 exactly
 * (a fused multiply-add gives l), so neither the rounding of u = x/√2 nor that of u² grows with u².
 * {@code VectorKernelCheck.geluMatchesScalar} measures the bound. Only loaded when
 * {@code jdk.incubator.vector} is in the boot layer.
 */
final class VectorGelu {
    private VectorGelu() {}

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();

    /** y[yOff + i] = gate[gOff + i] · gelu(x[xOff + i]) for i in [0, n) (GEGLU); {@code gate} null: gelu alone. */
    static void geluTimes(float[] x, int xOff, float[] gate, int gOff, float[] y, int yOff, int n) {
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector v = FloatVector.fromArray(F, x, xOff + i);
            // everything written out here: a vector passed to a call C2 does not inline is boxed
            FloatVector u = v.mul(0.70710677f), au = u.abs(), t = u.mul(u);
            // |u| < 0.5: erf(u) = u·P(u²)/Q(u²)
            FloatVector top = t.mul(0.18577771f).add(3.1611238f).mul(t).add(113.86415f).mul(t).add(377.48523f).mul(t).add(3209.3777f);
            FloatVector bot = t.add(23.601292f).mul(t).add(244.02464f).mul(t).add(1282.6165f).mul(t).add(2844.2368f);
            FloatVector onePlusErf = u.mul(top).div(bot).add(1f);
            // |u| >= 0.5: erfc(|u|) = exp(-u²)·R(|u|), exp(-u²) = exp(-h)·(1 - l) with h + l = x²/2
            // exactly: from x, not from the rounded u, whose error would grow with u² in the exponent
            // (|x| is capped at 20 here: exp(-200) is 0 in float, and x² of a huge x would be ∞ − ∞ in l)
            FloatVector ac = v.abs().min(20f), h2 = ac.mul(ac), h = h2.mul(0.5f), l = ac.fma(ac, h2.neg()).mul(0.5f);
            FloatVector e = h.neg().lanewise(VectorOperators.EXP).mul(l.neg().add(1f));
            // [0.5, 4)
            top = au.mul(2.1531154e-8f).add(0.5641885f).mul(au).add(8.88315f).mul(au).add(66.11919f).mul(au)
                    .add(298.63513f).mul(au).add(881.9522f).mul(au).add(1712.0476f).mul(au).add(2051.0784f).mul(au).add(1230.3394f);
            bot = au.add(15.744926f).mul(au).add(117.69395f).mul(au).add(537.1811f).mul(au).add(1621.3896f).mul(au)
                    .add(3290.7993f).mul(au).add(4362.619f).mul(au).add(3439.3677f).mul(au).add(1230.3394f);
            FloatVector erfc = e.mul(top).div(bot);
            VectorMask<Float> far = au.compare(VectorOperators.GE, 4f);
            if (far.anyTrue()) { // [4, ∞): erfc = exp(-u²)/|u|·(1/√π − z·P(z)/Q(z)), z = 1/u²
                FloatVector z = FloatVector.broadcast(F, 1f).div(au.mul(au));
                top = z.mul(0.016315388f).add(0.30532664f).mul(z).add(0.3603449f).mul(z).add(0.12578173f).mul(z)
                        .add(0.016083784f).mul(z).add(6.5874915e-4f);
                bot = z.add(2.5685203f).mul(z).add(1.8729528f).mul(z).add(0.5279051f).mul(z).add(0.060518343f).mul(z)
                        .add(0.002335205f);
                FloatVector tail = e.div(au).mul(z.mul(top).div(bot).neg().add(0.5641896f));
                erfc = erfc.blend(tail, far);
            }
            // 1 + erf(u): 2 − erfc(u) above 0, erfc(|u|) below, the small-range value near 0
            FloatVector onePlus = erfc.neg().add(2f).blend(erfc, u.compare(VectorOperators.LT, 0f))
                    .blend(onePlusErf, au.compare(VectorOperators.LT, 0.5f));
            FloatVector r = v.mul(0.5f).mul(onePlus);
            if (gate != null) r = FloatVector.fromArray(F, gate, gOff + i).mul(r);
            r.intoArray(y, yOff + i);
        }
        for (; i < n; i++) { // the tail: fewer than L elements
            float g = CpuBackend.gelu(x[xOff + i]);
            y[yOff + i] = gate == null ? g : gate[gOff + i] * g;
        }
    }
}
