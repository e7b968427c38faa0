package io.jdiffusion.unet;

import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.nn.Downsample2D;
import io.jdiffusion.tensor.nn.ResnetBlock2D;
import io.jdiffusion.tensor.weights.Params;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' {@code CrossAttnDownBlock2D}: {@code resnets.i} each followed by {@code attentions.i}
 * (a Transformer2DModel of {@code heads} heads of size out/heads, depth
 * transformer_layers_per_block[i]), then {@code downsamplers.0} unless it is the last level.
 */
final class CrossAttnDownBlock2D implements UNetDownBlock {
    private final List<ResnetBlock2D> resnets = new ArrayList<>();
    private final List<Transformer2DModel> attentions = new ArrayList<>();
    private final Downsample2D downsampler;

    CrossAttnDownBlock2D(Params p, int numLayers, int[] transformerLayersPerBlock, int inChannels, int outChannels,
                         int tembChannels, boolean addDownsample, float eps, int groups, int crossAttentionDim,
                         int heads, int downsamplePadding, boolean useLinearProjection) {
        Params r = p.child("resnets"), a = p.child("attentions");
        for (int i = 0; i < numLayers; i++) {
            resnets.add(new ResnetBlock2D(r.child(i), i == 0 ? inChannels : outChannels, outChannels, tembChannels, groups, eps, 1f));
            attentions.add(new Transformer2DModel(a.child(i), heads, outChannels / heads, outChannels,
                    transformerLayersPerBlock[i], crossAttentionDim, groups, useLinearProjection));
        }
        downsampler = addDownsample ? new Downsample2D(p.child("downsamplers").child(0), outChannels, downsamplePadding) : null;
    }

    @Override
    public Tensor forward(Tensor h, Tensor temb, Tensor context, List<Tensor> skips) {
        for (int i = 0; i < resnets.size(); i++) {
            h = resnets.get(i).forwardActivated(h, temb);
            h = attentions.get(i).forward(h, context);
            skips.add(h);
        }
        if (downsampler != null) {
            h = downsampler.forward(h);
            skips.add(h);
        }
        return h;
    }
}
