package io.jdiffusion.vae;

/**
 * A source of standard-normal floats: what {@code torch.randn(shape, generator=g)} does to a
 * tensor of {@code out.length} elements in row-major order. Lets the VAE draw its posterior sample
 * without depending on a particular generator class; a torch-compatible generator plugs in as
 * {@code g::fill} for a {@code TorchGenerator g} (or a lambda), so diffusers' noise is reproduced draw for draw.
 */
@FunctionalInterface
public interface NormalNoise {
    /** Fills {@code out} with N(0, 1) samples, advancing the generator's state. */
    void fill(float[] out);
}
