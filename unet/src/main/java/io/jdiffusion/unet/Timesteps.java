package io.jdiffusion.unet;

/**
 * diffusers' {@code Timesteps} / {@code get_timestep_embedding}: the sinusoidal embedding of scalars,
 * no weights. Computed on the CPU in f32 with torch's operation order (spec §3.4 step 1):
 * {@code e = f32(-ln 10000)·k; e = e / (half - freq_shift); freq = exp(e); arg = t·freq}, then
 * {@code [sin | cos]}, swapped to {@code [cos | sin]} when {@code flip_sin_to_cos}; an odd width gets a zero pad.
 *
 * <p>{@code exp} is PyTorch's CPU f32 kernel, SLEEF's {@code expf_u10} with FMA ({@link #sleefExpf}),
 * not a correctly rounded exp: it is 1 ulp off for some frequencies, and since the argument is
 * {@code t · freq} with t up to 999, that ulp moves sin/cos by ~5e-5 (e.g. entry 2 at t = 981:
 * 0.578064 as torch and the spec's check value have it, 0.578114 with a correctly rounded exp).
 */
public final class Timesteps {
    private static final float NEG_LN_MAX_PERIOD = (float) -Math.log(10000.0);

    private final int numChannels;
    private final boolean flipSinToCos;
    private final float downscaleFreqShift;
    private final float[] freqs;

    public Timesteps(int numChannels, boolean flipSinToCos, float downscaleFreqShift) {
        if (numChannels < 2) throw new IllegalArgumentException("sinusoidal embedding width must be at least 2, got " + numChannels);
        this.numChannels = numChannels;
        this.flipSinToCos = flipSinToCos;
        this.downscaleFreqShift = downscaleFreqShift;
        int half = numChannels / 2;
        float divisor = half - downscaleFreqShift;
        freqs = new float[half];
        for (int k = 0; k < half; k++) {
            float e = NEG_LN_MAX_PERIOD * (float) k;
            e = e / divisor;
            freqs[k] = sleefExpf(e);
        }
    }

    public int numChannels() { return numChannels; }

    /**
     * SLEEF 3.x {@code xexpf} (u10, the vector exp PyTorch's CPU f32 {@code torch.exp} runs), with
     * every multiply-add fused as in its AVX2/AVX-512 builds: range reduction by ln 2 split in two
     * parts, a degree-6 polynomial, scaling by 2^q.
     */
    static float sleefExpf(float d) {
        int q = (int) Math.rint(d * 1.442695040888963407359924681001892137426645954152985934135449406931f);
        float s = Math.fma((float) q, -0.693145751953125f, d);
        s = Math.fma((float) q, -1.428606765330187045e-06f, s);
        float u = 0.000198527617612853646278381f;
        u = Math.fma(u, s, 0.00139304355252534151077271f);
        u = Math.fma(u, s, 0.00833336077630519866943359f);
        u = Math.fma(u, s, 0.0416664853692054748535156f);
        u = Math.fma(u, s, 0.166666671633720397949219f);
        u = Math.fma(u, s, 0.5f);
        u = 1.0f + Math.fma(s * s, u, s);
        u = Math.scalb(Math.scalb(u, q >> 1), q - (q >> 1)); // vldexp2: two steps, as SLEEF does
        if (d < -104f) return 0f;
        if (d > 1e10f) return Float.POSITIVE_INFINITY;
        return u;
    }

    /** Embeds each of {@code t}: row-major {@code [t.length, numChannels]}. */
    public float[] embed(float[] t) {
        int half = freqs.length;
        float[] out = new float[t.length * numChannels];
        for (int i = 0; i < t.length; i++) {
            int row = i * numChannels;
            int sinAt = flipSinToCos ? row + half : row, cosAt = flipSinToCos ? row : row + half;
            for (int k = 0; k < half; k++) {
                float arg = t[i] * freqs[k];
                out[sinAt + k] = (float) Math.sin(arg);
                out[cosAt + k] = (float) Math.cos(arg);
            }
            // odd numChannels: the last column stays 0 (F.pad in diffusers)
        }
        return out;
    }

    @Override
    public String toString() { return "Timesteps(" + numChannels + ", flip_sin_to_cos=" + flipSinToCos + ", freq_shift=" + downscaleFreqShift + ")"; }
}
