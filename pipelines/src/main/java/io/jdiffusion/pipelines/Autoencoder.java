package io.jdiffusion.pipelines;

import io.jdiffusion.tensor.Tensor;

/** The VAE as the pipelines use it (diffusers' AutoencoderKL). */
public interface Autoencoder extends AutoCloseable {
    float scalingFactor();

    /** latent_dist.sample(generator) for image[B, 3, H, W] in [-1, 1] (not yet scaled by the scaling factor). */
    Tensor encodeSample(Tensor image, NoiseSource generator);

    /** Decodes unscaled latents z[B, 4, h, w] into an image in [-1, 1]. */
    Tensor decode(Tensor z);

    @Override
    default void close() {}
}
