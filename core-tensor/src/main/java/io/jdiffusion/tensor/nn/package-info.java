/**
 * The layers every model shares, built from a {@link io.jdiffusion.tensor.weights.Params} node with
 * the reference implementation's parameter names (so weight keys map unchanged): torch.nn's Linear,
 * Conv2d, GroupNorm and LayerNorm, and the blocks diffusers shares between its UNet and VAE
 * (ResnetBlock2D, Downsample2D, Upsample2D) and the multi-head Attention the UNet, VAE and CLIP text
 * encoders all use.
 *
 * <p>Where a block computes: every layer and block takes its backend from its {@code Params} node
 * when it is built ({@link io.jdiffusion.tensor.weights.Params#backend()}), as a torch module lives
 * on the device its weights were loaded to; {@code forward} methods take tensors only.
 */
package io.jdiffusion.tensor.nn;
