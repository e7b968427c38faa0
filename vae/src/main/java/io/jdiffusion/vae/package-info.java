/**
 * The SDXL VAE: diffusers' {@code AutoencoderKL} ({@link io.jdiffusion.vae.AutoencoderKL}) built from
 * {@code vae/config.json} ({@link io.jdiffusion.vae.VaeConfig}) with diffusers' parameter names, its
 * posterior ({@link io.jdiffusion.vae.DiagonalGaussianDistribution}), diffusers' tiled encode/decode
 * ({@link io.jdiffusion.vae.VaeTiling}). Single-file checkpoints' LDM names are mapped in one place for all
 * components: {@code io.jdiffusion.pipelines.checkpoint.OriginalKeys}. One file per building block, named like
 * diffusers' class: Encoder, Decoder, UNetMidBlock2D, and VaeBlock2D for DownEncoderBlock2D/UpDecoderBlock2D (they differ only in the resampler); the blocks the VAE shares
 * with the UNet (ResnetBlock2D, Downsample2D, Upsample2D, Attention) are in {@code io.jdiffusion.tensor.nn}.
 */
package io.jdiffusion.vae;
