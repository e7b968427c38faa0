package io.jdiffusion.unet;

/**
 * diffusers' {@code Timesteps} / {@code get_timestep_embedding}: the sinusoidal embedding of scalars,
 * no weights. Computed on the CPU in f32 with torch's operation order (spec §3.4 step 1):
 * {@code e = f32(-ln 10000)·k; e = e / (half - freq_shift); freq = exp(e); arg = t·freq}, then
 * {@code [sin | cos]}, swapped to {@code [cos | sin]} when {@code flip_sin_to_cos}; an odd width gets a zero pad.
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
            freqs[k] = (float) Math.exp(e);
        }
    }

    public int numChannels() { return numChannels; }

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
