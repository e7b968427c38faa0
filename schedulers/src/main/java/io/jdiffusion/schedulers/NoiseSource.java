package io.jdiffusion.schedulers;

/**
 * Where stochastic schedulers get their noise: one call is one {@code torch.randn(shape, generator=g)}
 * of {@code dst.length} float32 values, filled in C order. Pipelines pass the same generator they drew
 * the initial latents from, so the stream continues exactly as in diffusers (spec §8.5).
 */
@FunctionalInterface
public interface NoiseSource {
    void fillStandardNormal(float[] dst);
}
