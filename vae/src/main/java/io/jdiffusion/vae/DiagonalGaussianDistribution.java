package io.jdiffusion.vae;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;

import java.util.List;

/**
 * diffusers {@code DiagonalGaussianDistribution}, the VAE posterior: the encoder's moments
 * [B, 2·latent, h, w] split on channels into {@code mean} and {@code logvar}; logvar is clamped to
 * [-30, 20] (keeps exp() finite), {@code std = exp(0.5·logvar)}, {@code var = exp(logvar)}.
 */
public final class DiagonalGaussianDistribution {
    public static final float LOGVAR_MIN = -30f;
    public static final float LOGVAR_MAX = 20f;

    private final Backend backend;
    private final Tensor mean;
    private final Tensor logvar;
    private final Tensor std;
    private final Tensor var;

    /** Splits {@code moments} [B, 2C, h, w]. */
    public DiagonalGaussianDistribution(Backend backend, Tensor moments) {
        if (moments.rank() != 4 || moments.dim(1) % 2 != 0) {
            throw new IllegalArgumentException("moments must be [batch, 2*latent_channels, h, w], got " + moments);
        }
        this.backend = backend;
        List<Tensor> halves = backend.chunk(moments, 2, 1);
        mean = halves.get(0);
        logvar = backend.clamp(halves.get(1), LOGVAR_MIN, LOGVAR_MAX);
        std = backend.exp(backend.mulScalar(logvar, 0.5f));
        var = backend.exp(logvar);
    }

    public Tensor mean() { return mean; }

    /** The clamped log-variance. */
    public Tensor logvar() { return logvar; }

    public Tensor std() { return std; }

    public Tensor var() { return var; }

    /** {@code mode()} of diffusers = the mean (what {@code sample_mode="argmax"} returns). */
    public Tensor mode() { return mean; }

    /**
     * {@code mean + std · ε} with ε of the mean's shape drawn from {@code noise} in one call, as
     * diffusers' {@code randn_tensor(mean.shape, generator)} does.
     */
    public Tensor sample(NormalNoise noise) {
        float[] eps = new float[Math.toIntExact(mean.numel())];
        noise.fill(eps);
        return backend.add(mean, backend.mul(std, backend.fromFloats(eps, mean.shape())));
    }

    /**
     * One noise source per batch row, row i drawn from {@code noises.get(i)} with shape [1, C, h, w]:
     * what diffusers does with a list of generators (it encodes and samples each row separately).
     */
    public Tensor sample(List<NormalNoise> noises) {
        int b = mean.dim(0);
        if (noises.size() != b) {
            throw new IllegalArgumentException("sample: " + noises.size() + " noise sources for a batch of " + b + " (need one per row)");
        }
        int[] rowShape = mean.shape();
        rowShape[0] = 1;
        int rowSize = Math.toIntExact(mean.numel() / b);
        float[] eps = new float[Math.toIntExact(mean.numel())];
        float[] row = new float[rowSize];
        for (int i = 0; i < b; i++) {
            noises.get(i).fill(row);
            System.arraycopy(row, 0, eps, i * rowSize, rowSize);
        }
        return backend.add(mean, backend.mul(std, backend.fromFloats(eps, mean.shape())));
    }
}
