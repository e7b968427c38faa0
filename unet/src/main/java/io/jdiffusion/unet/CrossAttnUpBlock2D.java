package io.jdiffusion.unet;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.nn.ResnetBlock2D;
import io.jdiffusion.tensor.nn.Upsample2D;
import io.jdiffusion.tensor.weights.Params;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' {@code CrossAttnUpBlock2D}: like {@link UpBlock2D}, with {@code attentions.j}
 * (Transformer2DModel) after each resnet, depth transformer_layers_per_block[j] of the reversed list.
 */
final class CrossAttnUpBlock2D implements UNetUpBlock {
    private final List<ResnetBlock2D> resnets = new ArrayList<>();
    private final List<Transformer2DModel> attentions = new ArrayList<>();
    private final Upsample2D upsampler;
    private final Backend be;

    CrossAttnUpBlock2D(Params p, int numLayers, int[] transformerLayersPerBlock, int inChannels, int outChannels,
                       int prevOutputChannel, int tembChannels, boolean addUpsample, float eps, int groups,
                       int crossAttentionDim, int heads, boolean useLinearProjection) {
        this.be = p.backend();
        Params r = p.child("resnets"), a = p.child("attentions");
        for (int i = 0; i < numLayers; i++) {
            int skip = i == numLayers - 1 ? inChannels : outChannels;
            int resIn = i == 0 ? prevOutputChannel : outChannels;
            resnets.add(new ResnetBlock2D(r.child(i), resIn + skip, outChannels, tembChannels, groups, eps, 1f));
            attentions.add(new Transformer2DModel(a.child(i), heads, outChannels / heads, outChannels,
                    transformerLayersPerBlock[i], crossAttentionDim, groups, useLinearProjection));
        }
        upsampler = addUpsample ? new Upsample2D(p.child("upsamplers").child(0), outChannels) : null;
    }

    @Override public int numResnets() { return resnets.size(); }

    @Override
    public Tensor forward(Tensor h, List<Tensor> skips, Tensor temb, Tensor context, int[] upsampleSize) {
        for (int i = 0; i < resnets.size(); i++) {
            h = be.concat(1, h, skips.removeLast());
            h = resnets.get(i).forwardActivated(h, temb);
            h = attentions.get(i).forward(h, context);
        }
        return upsampler == null ? h : upsampler.forward(h, upsampleSize);
    }
}
