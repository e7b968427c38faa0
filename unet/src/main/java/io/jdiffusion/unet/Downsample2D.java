package io.jdiffusion.unet;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.nn.Conv2d;
import io.jdiffusion.tensor.weights.Params;

/**
 * diffusers' {@code Downsample2D} with use_conv (the UNet's): a 3×3 stride-2 {@code conv}. With
 * downsample_padding 1 (SDXL) the conv pads 1 on every side; with 0, diffusers pads only the right
 * and bottom by one zero before an unpadded conv, which is done here the same way.
 */
final class Downsample2D {
    private final Conv2d conv;
    private final int padding;
    private final Backend be;

    Downsample2D(Params p, int channels, int padding) {
        this.be = p.backend();
        this.padding = padding;
        this.conv = new Conv2d(p.child("conv"), channels, channels, 3, 2, padding);
    }

    Tensor forward(Tensor x) {
        if (padding == 0) {
            int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
            x = be.concat(3, x, be.zeros(n, c, h, 1));
            x = be.concat(2, x, be.zeros(n, c, 1, w + 1));
        }
        return conv.forward(x);
    }
}
