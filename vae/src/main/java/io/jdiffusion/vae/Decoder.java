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
    final Conv2d convIn;
    final UNetMidBlock2D midBlock;
    final UpDecoderBlock2D[] upBlocks;
    final GroupNorm convNormOut;
    final Conv2d convOut;

    Decoder(Params p, VaeConfig cfg) {
        be = p.backend();
        int levels = cfg.levels(), groups = cfg.normNumGroups();
        float eps = VaeConfig.NORM_EPS;
        int top = cfg.channels(levels - 1);
        convIn = new Conv2d(p.child("conv_in"), cfg.latentChannels(), top, 3, 1, 1);
        midBlock = new UNetMidBlock2D(p.child("mid_block"), top, groups, eps, cfg.midBlockAddAttention());
        upBlocks = new UpDecoderBlock2D[levels];
        int prev = top;
        for (int i = 0; i < levels; i++) {
            int out = cfg.channels(levels - 1 - i);   // reversed block_out_channels
            upBlocks[i] = new UpDecoderBlock2D(p.child("up_blocks").child(i), prev, out, cfg.layersPerBlock() + 1,
                    groups, eps, i < levels - 1);
            prev = out;
        }
        convNormOut = new GroupNorm(p.child("conv_norm_out"), groups, cfg.channels(0), eps);
        convOut = new Conv2d(p.child("conv_out"), cfg.channels(0), cfg.outChannels(), 3, 1, 1);
    }

    Tensor forward(Tensor z) {
        // each stage in its own scope, its input released once read (Lifetimes)
        List<UnaryOperator<Tensor>> steps = new ArrayList<>();
        steps.add(convIn::forward);
        steps.add(midBlock::forward);
        for (UpDecoderBlock2D u : upBlocks) steps.add(u::forward);
        steps.add(convNormOut::forwardSilu);
        steps.add(convOut::forward);
        return Lifetimes.chain(be, z, steps);
    }
}
