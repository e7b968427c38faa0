package io.jdiffusion.schedulers;

/**
 * Bit-faithful re-implementations of the few PyTorch and NumPy routines the schedulers' tables come
 * from. diffusers builds its schedules with a mix of torch float32 ops and numpy float64 ops; matching
 * the timesteps exactly (they are compared with {@code ==} to find the step index) needs the same
 * rounding at each point.
 */
final class TorchMath {
    private TorchMath() {}

    /**
     * {@code torch.linspace(start, end, steps, dtype=float32)} on the CPU: the first half is
     * {@code start + step·i}, the second half {@code end − step·(steps−1−i)}, with
     * {@code step = (end − start)/(steps − 1)} in float32. Each element is one fused multiply-add (the
     * compiled kernel contracts it): this reproduces the fixtures' sigma tables bit for bit where a
     * plain multiply-then-add, or a per-vector {@code base + j·step}, does not (spec §6.1 caveat).
     */
    static float[] linspaceF32(double startD, double endD, int steps) {
        float start = (float) startD, end = (float) endD;
        float[] out = new float[steps];
        if (steps == 0) return out;
        if (steps == 1) {
            out[0] = start;
            return out;
        }
        float step = (end - start) / (float) (steps - 1);
        int halfway = steps / 2;
        for (int i = 0; i < steps; i++) {
            out[i] = i < halfway ? Math.fma(step, (float) i, start) : Math.fma(-step, (float) (steps - i - 1), end);
        }
        return out;
    }

    /** {@code torch.cumprod} of a float32 vector on the CPU: the running product is kept in double. */
    static float[] cumprodF32(float[] x) {
        float[] out = new float[x.length];
        double acc = 1.0;
        for (int i = 0; i < x.length; i++) {
            acc *= x[i];
            out[i] = (float) acc;
        }
        return out;
    }

    /**
     * {@code numpy.linspace(start, stop, num)} in float64: {@code i·step + start} with
     * {@code step = (stop − start)/(num − 1)}, the last value set to {@code stop} exactly.
     */
    static double[] npLinspace(double start, double stop, int num) {
        double[] y = new double[num];
        int div = num - 1;
        double delta = stop - start;
        if (div > 0) {
            double step = delta / div;
            for (int i = 0; i < num; i++) y[i] = (step == 0 ? ((double) i / div) * delta : i * step) + start;
            y[num - 1] = stop;
        } else {
            for (int i = 0; i < num; i++) y[i] = i * delta + start;
        }
        return y;
    }

    /**
     * {@code numpy.arange(start, stop, step)} for float arguments: length {@code ceil((stop−start)/step)}
     * (which for {@code 1000/n} steps is sometimes one more than expected, as in numpy), values
     * {@code start + i·((start+step) − start)}.
     */
    static double[] npArange(double start, double stop, double step) {
        double len = Math.ceil((stop - start) / step);
        if (!(len > 0)) return new double[0];
        double[] y = new double[(int) len];
        // numpy stores start and start + step, then fills the rest from their difference
        double second = start + step, delta = second - start;
        for (int i = 0; i < y.length; i++) y[i] = i == 0 ? start : i == 1 ? second : start + i * delta;
        return y;
    }

    /** {@code numpy.interp(x, arange(len(fp)), fp)}: linear interpolation on an integer grid, clamped at the ends. */
    static double interp(double x, float[] fp) {
        int last = fp.length - 1;
        if (Double.isNaN(x)) return x;
        if (x <= 0) return fp[0];
        if (x >= last) return fp[last];
        int j = (int) Math.floor(x);
        double slope = ((double) fp[j + 1] - fp[j]) / 1.0;
        return slope * (x - j) + fp[j];
    }

    /**
     * diffusers' {@code _sigma_to_t}: the fractional training timestep whose log-sigma, linearly
     * interpolated, equals {@code log σ}. {@code logSigmas} is float32 as in diffusers (numpy log of a
     * float32 array), so {@code low − high} is a float32 difference.
     */
    static double sigmaToT(double sigma, float[] logSigmas) {
        double logSigma = Math.log(Math.max(sigma, 1e-10));
        int lowIdx = 0;
        for (int i = 0; i < logSigmas.length; i++) {
            if (logSigma - logSigmas[i] >= 0) lowIdx = i;
        }
        lowIdx = Math.min(lowIdx, logSigmas.length - 2);
        int highIdx = lowIdx + 1;
        float low = logSigmas[lowIdx], high = logSigmas[highIdx];
        float lowMinusHigh = low - high;
        double w = (low - logSigma) / lowMinusHigh;
        w = Math.min(Math.max(w, 0), 1);
        return (1 - w) * lowIdx + w * highIdx;
    }

    /** Karras et al. (2022) sigmas: {@code (σmax^{1/ρ} + ramp·(σmin^{1/ρ} − σmax^{1/ρ}))^ρ}, ramp = linspace(0, 1, n). */
    static double[] karras(double sigmaMin, double sigmaMax, int n, double rho) {
        double[] ramp = npLinspace(0, 1, n);
        double minInv = Math.pow(sigmaMin, 1 / rho), maxInv = Math.pow(sigmaMax, 1 / rho);
        double[] s = new double[n];
        for (int i = 0; i < n; i++) s[i] = Math.pow(maxInv + ramp[i] * (minInv - maxInv), rho);
        return s;
    }

    /**
     * {@code numpy.log} of a float32 array as numpy's x86 SIMD kernel computes it ({@code simd_log_FLOAT}:
     * mantissa/exponent split, a 5th/5th-order rational approximation in fused multiply-adds, then
     * {@code + k·ln 2}). It is not correctly rounded (up to ~4 ulp), and diffusers derives Karras
     * timesteps from this table, so the last bits of those timesteps depend on it.
     */
    static float[] logF32(float[] x) {
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) out[i] = numpyLogF32(x[i]);
        return out;
    }

    private static final float[] LOG_P = {0.0f, 9.999999999999998702752e-01f, 2.112677543073053063722e+00f,
            1.480000633576506585156e+00f, 3.808837741388407920751e-01f, 2.589979117907922693523e-02f};
    private static final float[] LOG_Q = {1.0f, 2.612677543073109236779e+00f, 2.453006071784736363091e+00f,
            9.864942958519418960339e-01f, 1.546476374983906719538e-01f, 5.875095403124574342950e-03f};

    static float numpyLogF32(float x) {
        if (Float.isNaN(x) || x < 0) return Float.NaN;
        if (x == 0) return Float.NEGATIVE_INFINITY;
        if (x == Float.POSITIVE_INFINITY) return x;
        // x = m·2^e with m in [0.5, 1) (Math.getExponent is floor(log2 x); subnormals handled by scaling)
        int scale = 0;
        if (x < Float.MIN_NORMAL) {
            x *= 0x1p100f;
            scale = 100;
        }
        int e = Math.getExponent(x) + 1;
        float m = Float.intBitsToFloat((Float.floatToRawIntBits(x) & 0x007FFFFF) | (126 << 23));
        float exponent = (float) (e - scale);
        if (m <= 0.707106781186547524f) {
            m = m + m;
            exponent = exponent - 1f;
        }
        m = m - 1f;
        float num = Math.fma(LOG_P[5], m, LOG_P[4]);
        num = Math.fma(num, m, LOG_P[3]);
        num = Math.fma(num, m, LOG_P[2]);
        num = Math.fma(num, m, LOG_P[1]);
        num = Math.fma(num, m, LOG_P[0]);
        float den = Math.fma(LOG_Q[5], m, LOG_Q[4]);
        den = Math.fma(den, m, LOG_Q[3]);
        den = Math.fma(den, m, LOG_Q[2]);
        den = Math.fma(den, m, LOG_Q[1]);
        den = Math.fma(den, m, LOG_Q[0]);
        return Math.fma(exponent, 0.693147180559945309417f, num / den);
    }

    /** The float32 value of the 0-d tensor expression {@code (σ² + 1) ** 0.5}. */
    static float sqrtSigmaSqPlusOne(float sigma) {
        float sq = sigma * sigma;
        return (float) Math.sqrt(sq + 1f);
    }
}
