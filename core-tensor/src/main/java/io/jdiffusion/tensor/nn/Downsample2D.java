package io.jdiffusion.tensor.nn;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.weights.Params;

/**
 * diffusers' {@code Downsample2D} with use_conv: a 3×3 stride-2 {@code conv}. With padding 1 (the
 * SDXL UNet's downsample_padding) the conv pads 1 on every side. With padding 0 (the VAE encoder's,
 * the original LDM one) diffusers first pads one zero column on the right and one zero row at the
 * bottom ({@code F.pad(x, (0, 1, 0, 1))}) before an unpadded conv; a symmetric padding would shift
 * the sampling grid by a pixel. Output side = floor((side + 2·padding − 3) / 2) + 1, or
 * floor((side + 1 − 3) / 2) + 1 with padding 0.
 */
public final class Downsample2D {
    private final Conv2d conv;
    private final int padding;
    private final Backend be;

    public Downsample2D(Params p, int channels, int padding) {
        this.be = p.backend();
        this.padding = padding;
        this.conv = new Conv2d(p.child("conv"), channels, channels, 3, 2, padding);
    }

    /** x [N, C, H, W] → [N, C, H', W']. */
    public Tensor forward(Tensor x) {
        if (padding == 0) {
            int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
            x = be.concat(3, x, be.zeros(n, c, h, 1));
            x = be.concat(2, x, be.zeros(n, c, 1, w + 1));
        }
        return conv.forward(x);
    }
}
