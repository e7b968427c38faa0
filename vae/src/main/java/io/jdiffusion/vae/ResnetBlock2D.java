package io.jdiffusion.vae;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.nn.Conv2d;
import io.jdiffusion.tensor.nn.GroupNorm;
import io.jdiffusion.tensor.weights.Params;

/**
 * diffusers {@code ResnetBlock2D} as the VAE builds it: no time embedding ({@code temb_channels=None}),
 * dropout 0, output_scale_factor 1, SiLU.
 * <pre>
 *   h = conv1(silu(norm1(x)))
 *   h = conv2(silu(norm2(h)))
 *   out = shortcut(x) + h        shortcut = conv_shortcut (1x1, bias) iff in != out channels
 * </pre>
 */
final class ResnetBlock2D {
    final GroupNorm norm1;
    final Conv2d conv1;
    final GroupNorm norm2;
    final Conv2d conv2;
    /** Null when in and out widths agree (identity shortcut). */
    final Conv2d convShortcut;

    ResnetBlock2D(Params p, int in, int out, int groups, float eps) {
        norm1 = new GroupNorm(p.child("norm1"), groups, in, eps);
        conv1 = new Conv2d(p.child("conv1"), in, out, 3, 1, 1);
        norm2 = new GroupNorm(p.child("norm2"), groups, out, eps);
        conv2 = new Conv2d(p.child("conv2"), out, out, 3, 1, 1);
        convShortcut = in != out ? new Conv2d(p.child("conv_shortcut"), in, out, 1, 1, 0) : null;
    }

    Tensor forward(Backend be, Tensor x) {
        Tensor h = conv1.forward(norm1.forwardSilu(x));
        h = conv2.forward(norm2.forwardSilu(h));
        Tensor shortcut = convShortcut == null ? x : convShortcut.forward(x);
        // output_scale_factor is 1 in the VAE, so no division.
        return be.add(shortcut, h);
    }
}
