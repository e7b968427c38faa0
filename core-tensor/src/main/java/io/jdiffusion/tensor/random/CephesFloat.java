package io.jdiffusion.tensor.random;

/**
 * Single-precision log and sin/cos the way PyTorch's vectorised CPU {@code randn} computes them:
 * Cephes' float algorithms (range reduction + short polynomials) as rewritten for SIMD by
 * J. Pommier's sse_mathfun and its AVX port, which torch uses for the Box-Muller step.
 *
 * <p>Every step is a float operation in the same order as the SIMD code. The torch wheels are
 * compiled with FMA enabled and GCC contracts "a * b + c" written as separate intrinsics into
 * fused multiply-adds, so each multiply that feeds an add here is a {@link Math#fma}; that is what
 * makes these functions agree bit for bit with the reference rather than within one ulp.
 */
final class CephesFloat {
    private CephesFloat() {}

    // log: x = m * 2^e with m in [sqrt(1/2), sqrt(2)), log(x) = log1p(m - 1) + e * ln 2 (ln 2 split in two)
    private static final float SQRTHF = 0.707106781186547524f;
    /** Polynomial coefficients, highest power first (Horner with fma). */
    private static final float[] LOG_P = {7.0376836292E-2f, -1.1514610310E-1f, 1.1676998740E-1f, -1.2420140846E-1f,
            1.4249322787E-1f, -1.6668057665E-1f, 2.0000714765E-1f, -2.4999993993E-1f, 3.3333331174E-1f};
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float LN2_HI = 0.693359375f;

    /** Natural log for x > 0 (NaN for x <= 0; subnormals are treated as the smallest normal). */
    static float log(float x) {
        if (!(x > 0f)) return Float.NaN;
        x = Math.max(x, Float.MIN_NORMAL);
        int bits = Float.floatToRawIntBits(x);
        // exponent such that x = m * 2^e, m in [0.5, 1)
        float e = (float) ((bits >>> 23) - 0x7f) + 1f;
        float m = Float.intBitsToFloat((bits & ~0x7f800000) | Float.floatToRawIntBits(0.5f));
        if (m < SQRTHF) {            // m in [0.5, sqrt(1/2)): use 2m - 1 and e - 1
            e -= 1f;
            m = (m - 1f) + m;
        } else {
            m = m - 1f;
        }
        float z = m * m;
        float y = horner(LOG_P, m) * m;
        y = Math.fma(y, z, e * LN2_LO);
        y = Math.fma(-z, 0.5f, y);
        return Math.fma(e, LN2_HI, m + y);
    }

    // sin/cos: reduce by multiples of pi/4 (pi/4 split in three parts), then one of two polynomials
    private static final float FOPI = 1.27323954473516f; // 4 / pi
    private static final float DP1 = -0.78515625f;
    private static final float DP2 = -2.4187564849853515625e-4f;
    private static final float DP3 = -3.77489497744594108e-8f;
    /** Polynomial coefficients, highest power first (Horner with fma). */
    private static final float[] SIN_P = {-1.9515295891E-4f, 8.3321608736E-3f, -1.6666654611E-1f};
    /** Polynomial coefficients, highest power first (Horner with fma). */
    private static final float[] COS_P = {2.443315711809948E-005f, -1.388731625493765E-003f, 4.166664568298827E-002f};

    /**
     * sin and cos of {@code x} (|x| well below 2^24; torch only passes [0, 2pi)) into out[0], out[1].
     */
    static void sincos(float x, float[] out) {
        boolean negative = x < 0f || (x == 0f && Float.floatToRawIntBits(x) != 0);
        float a = Math.abs(x);
        // octant j, rounded up to even: j = (trunc(a * 4/pi) + 1) & ~1
        int j = ((int) (a * FOPI) + 1) & ~1;
        float yj = (float) j;
        boolean sinFlip = (j & 4) != 0;
        boolean cosFlip = ((j - 2) & 4) == 0;
        boolean sinUsesSinPoly = (j & 2) == 0;
        // extended-precision reduction a - j * pi/4
        float r = Math.fma(yj, DP1, a);
        r = Math.fma(yj, DP2, r);
        r = Math.fma(yj, DP3, r);
        float z = r * r;
        // cos polynomial on [-pi/4, pi/4]
        float c = horner(COS_P, z) * z;
        c = Math.fma(c, z, -(z * 0.5f));
        c = c + 1f;
        // sin polynomial on [-pi/4, pi/4]
        float s = horner(SIN_P, z) * z;
        s = Math.fma(s, r, r);
        float sin = sinUsesSinPoly ? s : c;
        float cos = sinUsesSinPoly ? c : s;
        if (sinFlip ^ negative) sin = -sin;
        if (cosFlip) cos = -cos;
        out[0] = sin;
        out[1] = cos;
    }

    /** p[0]·x^(n-1) + … + p[n-1], each step one fma, in Cephes' order. */
    private static float horner(float[] p, float x) {
        float y = p[0];
        for (int i = 1; i < p.length; i++) y = Math.fma(y, x, p[i]);
        return y;
    }
}
