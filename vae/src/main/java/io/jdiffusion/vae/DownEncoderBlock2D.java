package io.jdiffusion.vae;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Lifetimes;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.nn.Downsample2D;
import io.jdiffusion.tensor.nn.ResnetBlock2D;
import io.jdiffusion.tensor.weights.Params;

import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * diffusers {@code DownEncoderBlock2D}: {@code layers_per_block} resnets without time embedding
 * (the first maps in → out), then an optional Downsample2D with padding 0 (pad right and bottom).
 */
final class DownEncoderBlock2D {
    /** For the per-step scopes of forward (Lifetimes); null on a shape-only tree, which never runs. */
    private final Backend be;
    final ResnetBlock2D[] resnets;
    /** Null on the last (deepest) level. */
    final Downsample2D downsampler;

    DownEncoderBlock2D(Params p, int in, int out, int layers, int groups, float eps, boolean addDownsample) {
        be = p.backend();
        resnets = VaeResnets.build(p.child("resnets"), in, out, layers, groups, eps);
        downsampler = addDownsample ? new Downsample2D(p.child("downsamplers").child(0), out, 0) : null;
    }

    Tensor forward(Tensor x) {
        // one scope per resnet, each output released once the next has read it (Lifetimes)
        List<UnaryOperator<Tensor>> steps = new ArrayList<>();
        for (ResnetBlock2D r : resnets) steps.add(r::forward);
        if (downsampler != null) steps.add(downsampler::forward);
        return Lifetimes.chain(be, x, steps);
    }
}
