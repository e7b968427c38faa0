package io.jdiffusion.pipelines;

import io.jdiffusion.tensor.Tensor;

/** The UNet as the denoising loop sees it. */
public interface Denoiser extends AutoCloseable {
    /** 4 for base/refiner UNets, 9 for inpainting UNets (latents + mask + masked-image latents). */
    int inChannels();

    /** Number of micro-conditioning time ids the add-embedding takes (6 base-style, 5 with aesthetic score). */
    int timeIdCount();

    /** unet.config.sample_size (latent pixels); inpainting's default image size is 8× this. */
    int sampleSize();

    /** Noise prediction for sample[B, C, h, w] at timestep t. */
    Tensor predict(Tensor sample, float t, Tensor context, Tensor pooledTextEmbeds, Tensor timeIds);

    @Override
    default void close() {}
}
