package io.jdiffusion.unet;

import io.jdiffusion.tensor.Tensor;

import java.util.List;

/** An encoder level of the UNet: {@link DownBlock2D} or {@link CrossAttnDownBlock2D}. */
sealed interface UNetDownBlock permits DownBlock2D, CrossAttnDownBlock2D {
    /**
     * Runs the level on {@code h}; appends the output of every resnet (after its attention, if any)
     * and of the downsampler to {@code skips} (diffusers' {@code output_states}); returns the last.
     * {@code temb} is SiLU of the time embedding, applied once by the UNet (each resnet's nonlinearity).
     */
    Tensor forward(Tensor h, Tensor temb, Tensor context, List<Tensor> skips);
}
