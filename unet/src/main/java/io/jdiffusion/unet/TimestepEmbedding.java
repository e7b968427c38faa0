package io.jdiffusion.unet;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.nn.Linear;
import io.jdiffusion.tensor.weights.Params;

/** diffusers' {@code TimestepEmbedding}: {@code linear_2(SiLU(linear_1(x)))} (no cond_proj, no post-activation in SDXL). */
final class TimestepEmbedding {
    private final Linear linear1, linear2;
    private final Backend be;

    TimestepEmbedding(Params p, int inChannels, int timeEmbedDim) {
        this.be = p.backend();
        this.linear1 = new Linear(p.child("linear_1"), inChannels, timeEmbedDim, true);
        this.linear2 = new Linear(p.child("linear_2"), timeEmbedDim, timeEmbedDim, true);
    }

    Tensor forward(Tensor x) { return linear2.forward(be.silu(linear1.forward(x))); }
}
