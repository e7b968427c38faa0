package io.jdiffusion.vae;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Lifetimes;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.nn.Conv2d;
import io.jdiffusion.tensor.nn.GroupNorm;
import io.jdiffusion.tensor.weights.Params;

import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * diffusers VAE {@code Decoder}: conv_in (3x3, latent_channels → deepest width) → mid_block →
 * up_blocks over the reversed widths, each with layers_per_block + 1 resnets and an Upsample2D after
 * every level but the last → conv_norm_out + SiLU → conv_out (3x3) to out_channels.
 * No clamping: the output is nominally in [-1, 1].
 */
final class Decoder {
    /** For the per-step scopes of forward (Lifetimes); null on a shape-only tree, which never runs. */
    private final Backend be;
    /** conv_in, mid_block, the up blocks, conv_norm_out + SiLU, conv_out: the stages of forward, in order. */
    private final List<UnaryOperator<Tensor>> stages = new ArrayList<>();

    Decoder(Params p, VaeConfig cfg) {
        be = p.backend();
        int groups = cfg.normNumGroups(), top = cfg.channels(cfg.levels() - 1), bottom = cfg.channels(0);
        stages.add(new Conv2d(p.child("conv_in"), cfg.latentChannels(), top, 3, 1, 1)::forward);
        stages.add(new UNetMidBlock2D(p.child("mid_block"), top, groups, VaeConfig.NORM_EPS, cfg.midBlockAddAttention())::forward);
        for (VaeBlock2D u : VaeBlock2D.levels(p.child("up_blocks"), cfg, true)) stages.add(u::forward);
        stages.add(new GroupNorm(p.child("conv_norm_out"), groups, bottom, VaeConfig.NORM_EPS)::forwardSilu);
        stages.add(new Conv2d(p.child("conv_out"), bottom, cfg.outChannels(), 3, 1, 1)::forward);
    }

    /** Each stage in its own scope, its input released once read (Lifetimes). */
    Tensor forward(Tensor z) { return Lifetimes.chain(be, z, stages); }
}
