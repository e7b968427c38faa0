package io.jdiffusion.vae;

import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.nn.ResnetBlock2D;
import io.jdiffusion.tensor.nn.Upsample2D;
import io.jdiffusion.tensor.weights.Params;

/**
 * diffusers {@code UpDecoderBlock2D}: {@code layers_per_block + 1} resnets without time embedding
 * (the first maps in → out; no skip connections in the VAE decoder), then an optional Upsample2D.
 */
final class UpDecoderBlock2D {
    final ResnetBlock2D[] resnets;
    /** Null on the last (full-resolution) level. */
    final Upsample2D upsampler;

    UpDecoderBlock2D(Params p, int in, int out, int layers, int groups, float eps, boolean addUpsample) {
        resnets = VaeResnets.build(p.child("resnets"), in, out, layers, groups, eps);
        upsampler = addUpsample ? new Upsample2D(p.child("upsamplers").child(0), out) : null;
    }

    Tensor forward(Tensor x) {
        Tensor h = VaeResnets.forward(resnets, x);
        return upsampler == null ? h : upsampler.forward(h);
    }
}
