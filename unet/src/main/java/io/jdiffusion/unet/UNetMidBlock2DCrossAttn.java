package io.jdiffusion.unet;

import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.nn.ResnetBlock2D;
import io.jdiffusion.tensor.weights.Params;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' {@code UNetMidBlock2DCrossAttn} (num_layers 1 in the UNet):
 * {@code resnets.0 → attentions.0 → resnets.1}, all at the deepest width; resnets use
 * output_scale_factor = mid_block_scale_factor.
 */
final class UNetMidBlock2DCrossAttn {
    private final List<ResnetBlock2D> resnets = new ArrayList<>();
    private final List<Transformer2DModel> attentions = new ArrayList<>();

    UNetMidBlock2DCrossAttn(Params p, int numLayers, int[] transformerLayersPerBlock, int inChannels, int tembChannels,
                            float eps, int groups, float outputScaleFactor, int crossAttentionDim, int heads,
                            boolean useLinearProjection) {
        Params r = p.child("resnets"), a = p.child("attentions");
        resnets.add(new ResnetBlock2D(r.child(0), inChannels, inChannels, tembChannels, groups, eps, outputScaleFactor));
        for (int i = 0; i < numLayers; i++) {
            attentions.add(new Transformer2DModel(a.child(i), heads, inChannels / heads, inChannels,
                    transformerLayersPerBlock[i], crossAttentionDim, groups, useLinearProjection));
            resnets.add(new ResnetBlock2D(r.child(i + 1), inChannels, inChannels, tembChannels, groups, eps, outputScaleFactor));
        }
    }

    Tensor forward(Tensor h, Tensor temb, Tensor context) {
        h = resnets.get(0).forwardActivated(h, temb);
        for (int i = 0; i < attentions.size(); i++) {
            h = attentions.get(i).forward(h, context);
            h = resnets.get(i + 1).forwardActivated(h, temb);
        }
        return h;
    }
}
