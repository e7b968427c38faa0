package io.jdiffusion.vae;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.nn.Conv2d;
import io.jdiffusion.tensor.weights.Params;

/** diffusers {@code Upsample2D(use_conv=True)}: nearest-neighbour x2 (each pixel to a 2x2 block), then a 3x3 conv, padding 1. */
final class Upsample2D {
    final Conv2d conv;

    Upsample2D(Params p, int channels) {
        conv = new Conv2d(p.child("conv"), channels, channels, 3, 1, 1);
    }

    Tensor forward(Backend be, Tensor x) {
        return conv.forward(be.upsampleNearest2x(x));
    }
}
