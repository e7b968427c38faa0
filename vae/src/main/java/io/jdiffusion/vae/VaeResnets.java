package io.jdiffusion.vae;

import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.nn.ResnetBlock2D;
import io.jdiffusion.tensor.weights.Params;

/** The resnet stack the VAE's up and down blocks share: {@code resnets.0..n-1}, no time embedding, scale factor 1. */
final class VaeResnets {
    private VaeResnets() {}

    /** {@code layers} resnets under {@code p}; the first maps in → out channels, the rest out → out. */
    static ResnetBlock2D[] build(Params p, int in, int out, int layers, int groups, float eps) {
        ResnetBlock2D[] resnets = new ResnetBlock2D[layers];
        for (int j = 0; j < layers; j++) resnets[j] = new ResnetBlock2D(p.child(j), j == 0 ? in : out, out, 0, groups, eps, 1f);
        return resnets;
    }

    static Tensor forward(ResnetBlock2D[] resnets, Tensor x) {
        Tensor h = x;
        for (ResnetBlock2D r : resnets) h = r.forward(h);
        return h;
    }
}
