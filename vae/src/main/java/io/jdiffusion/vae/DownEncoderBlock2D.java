package io.jdiffusion.vae;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Lifetimes;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.weights.Params;

/** diffusers {@code DownEncoderBlock2D}: {@code layers_per_block} resnets (the first maps in → out), then an optional Downsample2D. */
final class DownEncoderBlock2D {
    final ResnetBlock2D[] resnets;
    /** Null on the last (deepest) level. */
    final Downsample2D downsampler;

    DownEncoderBlock2D(Params p, int in, int out, int layers, int groups, float eps, boolean addDownsample) {
        resnets = new ResnetBlock2D[layers];
        for (int j = 0; j < layers; j++) {
            resnets[j] = new ResnetBlock2D(p.child("resnets").child(j), j == 0 ? in : out, out, groups, eps);
        }
        downsampler = addDownsample ? new Downsample2D(p.child("downsamplers").child(0), out) : null;
    }

    Tensor forward(Backend be, Tensor x) {
        Tensor h = x;
        // one scope per resnet, each output released once the next has read it (Lifetimes)
        List<UnaryOperator<Tensor>> steps = new ArrayList<>();
        for (ResnetBlock2D r : resnets) steps.add(t -> r.forward(be, t));
        if (downsampler != null) steps.add(t -> downsampler.forward(be, t));
        return Lifetimes.chain(be, h, steps);
    }
}
