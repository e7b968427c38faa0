package io.jdiffusion.vae;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Lifetimes;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.nn.ResnetBlock2D;
import io.jdiffusion.tensor.nn.Upsample2D;
import io.jdiffusion.tensor.weights.Params;

import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * diffusers {@code UpDecoderBlock2D}: {@code layers_per_block + 1} resnets without time embedding
 * (the first maps in → out; no skip connections in the VAE decoder), then an optional Upsample2D.
 */
final class UpDecoderBlock2D {
    /** For the per-step scopes of forward (Lifetimes); null on a shape-only tree, which never runs. */
    private final Backend be;
    final ResnetBlock2D[] resnets;
    /** Null on the last (full-resolution) level. */
    final Upsample2D upsampler;

    UpDecoderBlock2D(Params p, int in, int out, int layers, int groups, float eps, boolean addUpsample) {
        be = p.backend();
        resnets = VaeResnets.build(p.child("resnets"), in, out, layers, groups, eps);
        upsampler = addUpsample ? new Upsample2D(p.child("upsamplers").child(0), out) : null;
    }

    Tensor forward(Tensor x) {
        // one scope per resnet, each output released once the next has read it (Lifetimes)
        List<UnaryOperator<Tensor>> steps = new ArrayList<>();
        for (ResnetBlock2D r : resnets) steps.add(r::forward);
        if (upsampler != null) steps.add(upsampler::forward);
        return Lifetimes.chain(be, x, steps);
    }
}
