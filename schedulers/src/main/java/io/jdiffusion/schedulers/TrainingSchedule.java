package io.jdiffusion.schedulers;

import java.util.List;

/**
 * The training noise tables shared by all schedulers (spec §6.1): {@code betas}, {@code alphas = 1 − betas}
 * and {@code alphas_cumprod}, in float32 and built the way PyTorch builds them on the CPU, so that the
 * sigmas derived from them agree with diffusers to the last bit or two.
 */
final class TrainingSchedule {
    final int numTrainTimesteps;
    final float[] betas;
    final float[] alphasCumprod;

    private TrainingSchedule(float[] betas, float[] alphasCumprod) {
        this.numTrainTimesteps = betas.length;
        this.betas = betas;
        this.alphasCumprod = alphasCumprod;
    }

    /**
     * Builds the tables from the config. {@code fixTerminalSnr} is what Euler and DPM-Solver do after a
     * zero-terminal-SNR rescale: set the last ᾱ to 2⁻²⁴ so the largest sigma stays finite (DDIM keeps 0).
     */
    /** Variance-preserving noising at ᾱ = {@code alphaCumprod}: {@code √ᾱ·x0 + √(1−ᾱ)·ε} in float32 (DDIM, PNDM). */
    float[] addNoise(float[] original, float[] noise, float alphaCumprod) {
        if (original.length != noise.length) {
            throw new IllegalArgumentException("original has " + original.length + " values but noise has " + noise.length);
        }
        float sa = (float) Math.sqrt(alphaCumprod), s1 = (float) Math.sqrt(1f - alphaCumprod);
        float[] out = new float[original.length];
        for (int i = 0; i < out.length; i++) out[i] = sa * original[i] + s1 * noise[i];
        return out;
    }

    static TrainingSchedule of(SchedulerConfig c, boolean fixTerminalSnr) {
        int n = SchedulerConfig.or(c.numTrainTimesteps(), 1000);
        if (n < 2) {
            throw new IllegalArgumentException("num_train_timesteps must be at least 2, got " + n);
        }
        double betaStart = SchedulerConfig.or(c.betaStart(), 0.0001);
        double betaEnd = SchedulerConfig.or(c.betaEnd(), 0.02);
        float[] betas;
        List<Double> trained = c.trainedBetas();
        if (trained != null) {
            // diffusers: torch.tensor(trained_betas, dtype=float32); the table length then wins.
            betas = new float[trained.size()];
            for (int i = 0; i < betas.length; i++) betas[i] = trained.get(i).floatValue();
            if (betas.length != n) {
                throw new IllegalArgumentException("trained_betas has " + betas.length
                        + " entries but num_train_timesteps is " + n);
            }
        } else {
            String schedule = SchedulerConfig.oneOf("beta_schedule", SchedulerConfig.or(c.betaSchedule(), "linear"),
                    "linear", "scaled_linear", "squaredcos_cap_v2");
            betas = switch (schedule) {
                case "linear" -> TorchMath.linspaceF32(betaStart, betaEnd, n);
                case "scaled_linear" -> {
                    // linspace(√start, √end) in float32, then squared in float32 (Python's ** 0.5 is double sqrt).
                    float[] b = TorchMath.linspaceF32(Math.sqrt(betaStart), Math.sqrt(betaEnd), n);
                    for (int i = 0; i < n; i++) b[i] = b[i] * b[i];
                    yield b;
                }
                default -> cosineBetas(n);
            };
        }
        if (Boolean.TRUE.equals(c.rescaleBetasZeroSnr())) betas = rescaleZeroTerminalSnr(betas);
        float[] alphas = new float[n];
        for (int i = 0; i < n; i++) alphas[i] = 1f - betas[i];
        float[] cumprod = TorchMath.cumprodF32(alphas);
        if (fixTerminalSnr && Boolean.TRUE.equals(c.rescaleBetasZeroSnr())) cumprod[n - 1] = 0x1p-24f;
        return new TrainingSchedule(betas, cumprod);
    }

    /** Training sigmas σ_t = sqrt((1 − ᾱ_t)/ᾱ_t) in float32, indexed by t (increasing). */
    float[] sigmas() {
        float[] s = new float[numTrainTimesteps];
        for (int i = 0; i < s.length; i++) s[i] = sigmaOf(alphasCumprod[i]);
        return s;
    }

    /** sqrt((1 − ᾱ)/ᾱ) with float32 subtraction, division and square root, as the torch expression. */
    static float sigmaOf(float alphaCumprod) {
        float oneMinus = 1f - alphaCumprod;
        return (float) Math.sqrt(oneMinus / alphaCumprod);
    }

    /** GLIDE's cosine schedule ({@code betas_for_alpha_bar}, max β 0.999), computed in double like Python. */
    private static float[] cosineBetas(int n) {
        float[] b = new float[n];
        for (int i = 0; i < n; i++) {
            double t1 = (double) i / n, t2 = (double) (i + 1) / n;
            b[i] = (float) Math.min(1 - alphaBar(t2) / alphaBar(t1), 0.999);
        }
        return b;
    }

    private static double alphaBar(double t) {
        double c = Math.cos((t + 0.008) / 1.008 * Math.PI / 2);
        return c * c;
    }

    /** Rescales betas to zero terminal SNR (Lin et al. 2023, Algorithm 1), in float32 as diffusers' torch code. */
    private static float[] rescaleZeroTerminalSnr(float[] betas) {
        int n = betas.length;
        float[] alphas = new float[n];
        for (int i = 0; i < n; i++) alphas[i] = 1f - betas[i];
        float[] sqrtBar = TorchMath.cumprodF32(alphas);
        for (int i = 0; i < n; i++) sqrtBar[i] = (float) Math.sqrt(sqrtBar[i]);
        float first = sqrtBar[0], last = sqrtBar[n - 1];
        float scale = first / (first - last);
        for (int i = 0; i < n; i++) sqrtBar[i] = (sqrtBar[i] - last) * scale;
        float[] bar = new float[n];
        for (int i = 0; i < n; i++) bar[i] = sqrtBar[i] * sqrtBar[i];
        float[] out = new float[n];
        out[0] = 1f - bar[0];
        for (int i = 1; i < n; i++) out[i] = 1f - bar[i] / bar[i - 1];
        return out;
    }
}
