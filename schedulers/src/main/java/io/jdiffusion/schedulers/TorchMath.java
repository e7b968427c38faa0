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
     * Lanes of PyTorch's vectorised CPU linspace kernel on the machine that produced the fixtures
     * (AVX-512: 16 floats). The kernel evaluates whole vectors from a per-vector base value, which
     * rounds differently from a per-element formula.
     */
    static final int LINSPACE_LANES = 16;

    /**
     * {@code torch.linspace(start, end, steps, dtype=float32)} on the CPU. The first half is
     * {@code start + step·i}, the second half {@code end − step·(steps−1−i)}; inside the vectorised part
     * each lane is {@code base + j·step} from the base of its vector; the tail (fewer than two vectors)
     * runs the scalar formula.
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
        int v = LINSPACE_LANES;
        int vecEnd = (steps / (2 * v)) * (2 * v);
        for (int base = 0; base < vecEnd; base += v) {
            float b = base < halfway ? start + step * (float) base : end - step * (float) (steps - base - 1);
            for (int j = 0; j < v; j++) out[base + j] = j == 0 ? b : b + (float) j * step;
        }
        for (int i = vecEnd; i < steps; i++) {
            out[i] = i < halfway ? start + step * (float) i : end - step * (float) (steps - i - 1);
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
        double delta = (start + step) - start;
        for (int i = 0; i < y.length; i++) y[i] = i == 0 ? start : start + i * delta;
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

    /** numpy's log of a float32 array (rounded to float32). */
    static float[] logF32(float[] x) {
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) out[i] = (float) Math.log(x[i]);
        return out;
    }

    /** The float32 value of the 0-d tensor expression {@code (σ² + 1) ** 0.5}. */
    static float sqrtSigmaSqPlusOne(float sigma) {
        float sq = sigma * sigma;
        return (float) Math.sqrt(sq + 1f);
    }
}
