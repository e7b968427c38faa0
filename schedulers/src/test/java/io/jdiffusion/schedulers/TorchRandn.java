package io.jdiffusion.schedulers;

/**
 * Test-only stand-in for {@code torch.Generator("cpu").manual_seed(s)} + {@code torch.randn} in float32
 * (spec §8.2–8.3): MT19937 words, the 16-wide Box–Muller blocks with the "16 fresh draws over the last
 * 16 positions" tail, and the double-precision path with a cached spare for fewer than 16 values.
 * Blocks follow torch's SIMD kernel (the fixtures' randn came from it) bit for bit.
 * (core-tensor's {@code io.jdiffusion.tensor.random.TorchGenerator} replaces it once it exists.)
 */
final class TorchRandn implements NoiseSource {
    private final int[] mt = new int[624];
    private int mti;
    private boolean hasSpare;
    private double spare;

    TorchRandn(long seed) {
        mt[0] = (int) seed;
        for (int j = 1; j < 624; j++) {
            int prev = mt[j - 1];
            mt[j] = 1812433253 * (prev ^ (prev >>> 30)) + j;
        }
        mti = 624;
    }

    int nextInt() {
        if (mti >= 624) twist();
        int y = mt[mti++];
        y ^= y >>> 11;
        y ^= (y << 7) & 0x9D2C5680;
        y ^= (y << 15) & 0xEFC60000;
        y ^= y >>> 18;
        return y;
    }

    private void twist() {
        for (int i = 0; i < 624; i++) {
            int y = (mt[i] & 0x80000000) | (mt[(i + 1) % 624] & 0x7FFFFFFF);
            int v = mt[(i + 397) % 624] ^ (y >>> 1);
            if ((mt[(i + 1) % 624] & 1) != 0) v ^= 0x9908B0DF;
            mt[i] = v;
        }
        mti = 0;
    }

    private long nextLong() {
        long hi = nextInt() & 0xFFFFFFFFL, lo = nextInt() & 0xFFFFFFFFL;
        return (hi << 32) | lo;
    }

    @Override
    public void fillStandardNormal(float[] dst) {
        int n = dst.length;
        if (n < 16) {
            for (int i = 0; i < n; i++) dst[i] = (float) smallNormal();
            return;
        }
        for (int i = 0; i < n; i++) dst[i] = (nextInt() & 0xFFFFFF) * 0x1p-24f;
        for (int b = 0; b + 16 <= n; b += 16) block(dst, b);
        if (n % 16 != 0) {
            for (int i = n - 16; i < n; i++) dst[i] = (nextInt() & 0xFFFFFF) * 0x1p-24f;
            block(dst, n - 16);
        }
    }

    /**
     * One 16-value Box–Muller block the way torch's AVX2 kernel ({@code normal_fill_16_AVX2}) computes it:
     * θ = f32(2π)·u2 in float32 and Cephes-style {@code log256_ps}/{@code sincos256_ps} polynomials, with
     * the fused multiply-adds GCC contracts them into (each {@code a*b + c} of the source becomes one FMA,
     * the first product of {@code a*b − c*d} too). That contraction pattern is what makes the result
     * bit-exact on every fixture draw; the plain port of spec §8.3 matches only 99 %.
     */
    private static void block(float[] d, int b) {
        for (int j = 0; j < 8; j++) {
            float u1 = 1f - d[b + j];
            float u2 = d[b + 8 + j];
            float r = (float) Math.sqrt(-2f * cephesLog(u1));
            float theta = TWO_PI_F * u2;
            float[] sc = cephesSinCos(theta);
            d[b + j] = r * sc[1];
            d[b + 8 + j] = r * sc[0];
        }
    }

    private static final float TWO_PI_F = (float) (2.0 * Math.PI);

    /** avx_mathfun {@code log256_ps} for a positive normal float. */
    static float cephesLog(float xIn) {
        int bits = Float.floatToRawIntBits(xIn);
        int emm0 = (bits >>> 23) - 0x7f;
        float x = Float.intBitsToFloat((bits & 0x807FFFFF) | 0x3F000000); // mantissa in [0.5, 1)
        float e = (float) emm0 + 1f;
        float tmp;
        if (x < 0.707106781186547524f) {
            tmp = x;
            e = e - 1f;
        } else {
            tmp = 0f;
        }
        x = x - 1f;
        x = x + tmp;
        float z = x * x;
        float y = 7.0376836292E-2f;
        y = Math.fma(y, x, -1.1514610310E-1f);
        y = Math.fma(y, x, 1.1676998740E-1f);
        y = Math.fma(y, x, -1.2420140846E-1f);
        y = Math.fma(y, x, 1.4249322787E-1f);
        y = Math.fma(y, x, -1.6668057665E-1f);
        y = Math.fma(y, x, 2.0000714765E-1f);
        y = Math.fma(y, x, -2.4999993993E-1f);
        y = Math.fma(y, x, 3.3333331174E-1f);
        y = y * x;
        y = Math.fma(y, z, e * -2.12194440e-4f);  // y·z + e·q1: the first product fused
        y = y - z * 0.5f;                          // z·0.5 is exact
        x = x + y;
        x = Math.fma(e, 0.693359375f, x);          // e·q2 is exact
        return x;
    }

    /** avx_mathfun {@code sincos256_ps}: returns {sin, cos}. */
    static float[] cephesSinCos(float xIn) {
        boolean negative = xIn < 0;
        float x = Math.abs(xIn);
        float y = x * 1.27323954473516f;
        int j = (int) y;
        j = (j + 1) & ~1;
        y = (float) j;
        boolean swapSignSin = (j & 4) != 0;
        boolean polyMask = (j & 2) == 0;
        x = Math.fma(y, -0.78515625f, x);
        x = Math.fma(y, -2.4187564849853515625e-4f, x);
        x = Math.fma(y, -3.77489497744594108e-8f, x);
        boolean cosNegative = ((~(j - 2)) & 4) != 0;
        boolean sinNegative = negative ^ swapSignSin;
        float z = x * x;
        float yc = 2.443315711809948E-005f;
        yc = Math.fma(yc, z, -1.388731625493765E-003f);
        yc = Math.fma(yc, z, 4.166664568298827E-002f);
        yc = yc * z;
        yc = Math.fma(yc, z, -(z * 0.5f));         // y·z − z·0.5: the first product fused
        yc = yc + 1f;
        float ys = -1.9515295891E-4f;
        ys = Math.fma(ys, z, 8.3321608736E-3f);
        ys = Math.fma(ys, z, -1.6666654611E-1f);
        ys = ys * z;
        ys = Math.fma(ys, x, x);
        float s = polyMask ? ys : yc;
        float c = polyMask ? yc : ys;
        return new float[]{sinNegative ? -s : s, cosNegative ? -c : c};
    }

    private double smallNormal() {
        if (hasSpare) {
            hasSpare = false;
            return spare;
        }
        double u1 = (nextLong() & ((1L << 53) - 1)) * 0x1p-53;
        double u2 = (nextLong() & ((1L << 53) - 1)) * 0x1p-53;
        double r = Math.sqrt(-2 * Math.log1p(-u2));
        double theta = 2 * Math.PI * u1;
        spare = r * Math.sin(theta);
        hasSpare = true;
        return r * Math.cos(theta);
    }
}
