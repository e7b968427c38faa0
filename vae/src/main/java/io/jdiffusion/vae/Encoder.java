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
    final Conv2d convIn;
    final DownEncoderBlock2D[] downBlocks;
    final UNetMidBlock2D midBlock;
    final GroupNorm convNormOut;
    final Conv2d convOut;

    Encoder(Params p, VaeConfig cfg) {
        be = p.backend();
        int levels = cfg.levels(), groups = cfg.normNumGroups();
        float eps = VaeConfig.NORM_EPS;
        convIn = new Conv2d(p.child("conv_in"), cfg.inChannels(), cfg.channels(0), 3, 1, 1);
        downBlocks = new DownEncoderBlock2D[levels];
        int prev = cfg.channels(0);
        for (int i = 0; i < levels; i++) {
            int out = cfg.channels(i);
            downBlocks[i] = new DownEncoderBlock2D(p.child("down_blocks").child(i), prev, out, cfg.layersPerBlock(),
                    groups, eps, i < levels - 1);
            prev = out;
        }
        int top = cfg.channels(levels - 1);
        midBlock = new UNetMidBlock2D(p.child("mid_block"), top, groups, eps, cfg.midBlockAddAttention());
        convNormOut = new GroupNorm(p.child("conv_norm_out"), groups, top, eps);
        convOut = new Conv2d(p.child("conv_out"), top, 2 * cfg.latentChannels(), 3, 1, 1);
    }

    Tensor forward(Tensor x) {
        // each stage in its own scope, its input released once read (Lifetimes)
        List<UnaryOperator<Tensor>> steps = new ArrayList<>();
        steps.add(convIn::forward);
        for (DownEncoderBlock2D d : downBlocks) steps.add(d::forward);
        steps.add(midBlock::forward);
        steps.add(convNormOut::forwardSilu);
        steps.add(convOut::forward);
        return Lifetimes.chain(be, x, steps);
    }
}
