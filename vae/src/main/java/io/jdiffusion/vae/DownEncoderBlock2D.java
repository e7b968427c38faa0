package io.jdiffusion.vae;

import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.nn.Downsample2D;
import io.jdiffusion.tensor.nn.ResnetBlock2D;
import io.jdiffusion.tensor.weights.Params;

/**
 * diffusers {@code DownEncoderBlock2D}: {@code layers_per_block} resnets without time embedding
 * (the first maps in → out), then an optional Downsample2D with padding 0 (pad right and bottom).
 */
final class DownEncoderBlock2D {
    final ResnetBlock2D[] resnets;
    /** Null on the last (deepest) level. */
    final Downsample2D downsampler;

    DownEncoderBlock2D(Params p, int in, int out, int layers, int groups, float eps, boolean addDownsample) {
        resnets = VaeResnets.build(p.child("resnets"), in, out, layers, groups, eps);
        downsampler = addDownsample ? new Downsample2D(p.child("downsamplers").child(0), out, 0) : null;
    }

    Tensor forward(Tensor x) {
        Tensor h = VaeResnets.forward(resnets, x);
        return downsampler == null ? h : downsampler.forward(h);
    }
}
