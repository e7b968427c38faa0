package io.jdiffusion.unet;

import io.jdiffusion.tensor.Tensor;

import java.util.List;

/** A decoder level of the UNet: {@link UpBlock2D} or {@link CrossAttnUpBlock2D}. */
sealed interface UNetUpBlock permits UpBlock2D, CrossAttnUpBlock2D {
    /** Number of resnets, i.e. how many skip tensors this level consumes. */
    int numResnets();

    /**
     * Runs the level: each resnet takes {@code cat([h, skip], dim=1)} with the LAST remaining entry of
     * {@code skips} (removed from the list); then the upsampler, if any, to {@code upsampleSize}
     * ({h, w}, or null for ×2).
     */
    Tensor forward(Tensor h, List<Tensor> skips, Tensor temb, Tensor context, int[] upsampleSize);
}
