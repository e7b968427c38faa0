package io.jdiffusion.vae;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.nn.Conv2d;
import io.jdiffusion.tensor.weights.Params;

/**
 * diffusers {@code Downsample2D(use_conv=True, padding=0)} of the VAE encoder: because the conv has
 * padding 0, diffusers first pads one zero column on the right and one zero row at the bottom
 * ({@code F.pad(x, (0, 1, 0, 1))}), then applies a 3x3 stride-2 conv. This asymmetric padding is what
 * the original LDM encoder did; a symmetric padding of 1 would shift the sampling grid by one pixel.
 * Output side = floor((side + 1 - 3) / 2) + 1.
 */
final class Downsample2D {
    final Conv2d conv;

    Downsample2D(Params p, int channels) {
        conv = new Conv2d(p.child("conv"), channels, channels, 3, 2, 0);
    }

    Tensor forward(Backend be, Tensor x) {
        return conv.forward(padRightBottom(be, x));
    }

    /** x[N, C, H, W] → [N, C, H+1, W+1] with a zero last row and column. */
    static Tensor padRightBottom(Backend be, Tensor x) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        Tensor wider = be.concat(3, x, be.zeros(n, c, h, 1));
        return be.concat(2, wider, be.zeros(n, c, 1, w + 1));
    }
}
