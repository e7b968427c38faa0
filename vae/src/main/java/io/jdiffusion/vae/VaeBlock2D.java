package io.jdiffusion.vae;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Lifetimes;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.nn.Downsample2D;
import io.jdiffusion.tensor.nn.ResnetBlock2D;
import io.jdiffusion.tensor.nn.Upsample2D;
import io.jdiffusion.tensor.weights.Params;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * diffusers' {@code DownEncoderBlock2D} and {@code UpDecoderBlock2D}, which differ only in their
 * resampler: {@code resnets.0..n-1} without time embedding (the first maps in → out channels, scale
 * factor 1), then an optional Downsample2D (padding 0: pad right and bottom) or Upsample2D. The
 * decoder's blocks have {@code layers_per_block + 1} resnets and no skip connections.
 */
final class VaeBlock2D {
    /** For the per-step scopes of forward (Lifetimes); null on a shape-only tree, which never runs. */
    private final Backend be;
    final ResnetBlock2D[] resnets;
    /** The down- or upsampler; null on the last level. */
    final UnaryOperator<Tensor> resampler;

    private VaeBlock2D(Params p, int in, int out, int layers, int groups, float eps, Function<Params, UnaryOperator<Tensor>> resampler) {
        be = p.backend();
        resnets = new ResnetBlock2D[layers];
        Params r = p.child("resnets");
        for (int j = 0; j < layers; j++) resnets[j] = new ResnetBlock2D(r.child(j), j == 0 ? in : out, out, 0, groups, eps, 1f);
        this.resampler = resampler == null ? null : resampler.apply(p);
    }

    /**
     * The encoder's {@code down_blocks} (DownEncoderBlock2D over block_out_channels, {@code layers_per_block}
     * resnets each) or the decoder's {@code up_blocks} (UpDecoderBlock2D over the reversed widths,
     * {@code layers_per_block + 1} resnets each), under {@code p}; every level but the last resamples.
     */
    static VaeBlock2D[] levels(Params p, VaeConfig cfg, boolean decoder) {
        int levels = cfg.levels(), groups = cfg.normNumGroups();
        float eps = VaeConfig.NORM_EPS;
        VaeBlock2D[] blocks = new VaeBlock2D[levels];
        int prev = cfg.channels(decoder ? levels - 1 : 0);
        for (int i = 0; i < levels; i++) {
            int out = cfg.channels(decoder ? levels - 1 - i : i);
            boolean resample = i < levels - 1;
            blocks[i] = decoder
                    ? new VaeBlock2D(p.child(i), prev, out, cfg.layersPerBlock() + 1, groups, eps,
                            resample ? q -> new Upsample2D(q.child("upsamplers").child(0), out)::forward : null)
                    : new VaeBlock2D(p.child(i), prev, out, cfg.layersPerBlock(), groups, eps,
                            resample ? q -> new Downsample2D(q.child("downsamplers").child(0), out, 0)::forward : null);
            prev = out;
        }
        return blocks;
    }

    Tensor forward(Tensor x) {
        // one scope per resnet, each output released once the next has read it (Lifetimes)
        List<UnaryOperator<Tensor>> steps = new ArrayList<>();
        for (ResnetBlock2D r : resnets) steps.add(r::forward);
        if (resampler != null) steps.add(resampler);
        return Lifetimes.chain(be, x, steps);
    }
}
