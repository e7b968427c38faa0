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
 * diffusers VAE {@code Encoder} with {@code double_z=True}:
 * conv_in (3x3) → down_blocks (widths block_out_channels, a Downsample2D after every level but the
 * last) → mid_block → conv_norm_out + SiLU → conv_out (3x3) to 2·latent_channels "moments".
 */
final class Encoder {
    /** For the per-step scopes of forward (Lifetimes); null on a shape-only tree, which never runs. */
    private final Backend be;
    /** conv_in, the down blocks, mid_block, conv_norm_out + SiLU, conv_out: the stages of forward, in order. */
    private final List<UnaryOperator<Tensor>> stages = new ArrayList<>();

    Encoder(Params p, VaeConfig cfg) {
        be = p.backend();
        int groups = cfg.normNumGroups(), top = cfg.channels(cfg.levels() - 1);
        float eps = VaeConfig.NORM_EPS;
        stages.add(new Conv2d(p.child("conv_in"), cfg.inChannels(), cfg.channels(0), 3, 1, 1)::forward);
        for (VaeBlock2D d : VaeBlock2D.levels(p.child("down_blocks"), cfg, false)) stages.add(d::forward);
        stages.add(new UNetMidBlock2D(p.child("mid_block"), top, groups, eps, cfg.midBlockAddAttention())::forward);
        stages.add(new GroupNorm(p.child("conv_norm_out"), groups, top, eps)::forwardSilu);
        stages.add(new Conv2d(p.child("conv_out"), top, 2 * cfg.latentChannels(), 3, 1, 1)::forward);
    }

    /** Each stage in its own scope, its input released once read (Lifetimes). */
    Tensor forward(Tensor x) { return Lifetimes.chain(be, x, stages); }
}
