package io.jdiffusion.pipelines;

import java.util.Arrays;

/**
 * Host-side latent arithmetic of the denoising loop. Latents are small (4 × h × w per image), so
 * the loop keeps them as float[] in NCHW order, where the schedulers work on them exactly.
 */
final class Latents {
    private Latents() {}

    /** The rows of {@code x} (batch b, per-row size n) repeated: [x; x] for classifier-free guidance. */
    static float[] twice(float[] x) {
        float[] out = Arrays.copyOf(x, 2 * x.length);
        System.arraycopy(x, 0, out, x.length, x.length);
        return out;
    }

    /** eps = u + g (c - u) over the halves [u; c] of a CFG batch, then diffusers' rescale when phi > 0. */
    static float[] guide(float[] both, double guidance, double rescale, int batch) {
        int half = both.length / 2;
        float[] eps = new float[half];
        float g = (float) guidance;
        for (int i = 0; i < half; i++) {
            float u = both[i], c = both[half + i];
            eps[i] = u + g * (c - u);
        }
        if (rescale > 0) {
            // rescale_noise_cfg: std over all non-batch dims, unbiased, per batch row
            int per = half / batch;
            for (int b = 0; b < batch; b++) {
                double stdC = std(both, half + b * per, per), stdE = std(eps, b * per, per);
                double factor = stdC / stdE;
                for (int i = b * per; i < (b + 1) * per; i++) {
                    float rescaled = (float) (eps[i] * factor);
                    eps[i] = (float) (rescale * rescaled + (1 - rescale) * eps[i]);
                }
            }
        }
        return eps;
    }

    private static double std(float[] x, int from, int n) {
        double mean = 0;
        for (int i = from; i < from + n; i++) mean += x[i];
        mean /= n;
        double var = 0;
        for (int i = from; i < from + n; i++) {
            double d = x[i] - mean;
            var += d * d;
        }
        return Math.sqrt(var / (n - 1));
    }

    static float[] scale(float[] x, float s) {
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) out[i] = x[i] * s;
        return out;
    }

    /** (1 - m) * ref + m * x, with the mask m broadcast over the latent channels. */
    static float[] blend(float[] x, float[] ref, float[] mask, int batch, int channels, int hw) {
        float[] out = new float[x.length];
        for (int b = 0; b < batch; b++) {
            for (int c = 0; c < channels; c++) {
                int base = (b * channels + c) * hw;
                for (int i = 0; i < hw; i++) {
                    float m = mask[b * hw + i];
                    out[base + i] = (1 - m) * ref[base + i] + m * x[base + i];
                }
            }
        }
        return out;
    }
}
