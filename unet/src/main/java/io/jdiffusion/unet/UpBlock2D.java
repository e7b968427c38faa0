package io.jdiffusion.unet;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.nn.ResnetBlock2D;
import io.jdiffusion.tensor.nn.Upsample2D;
import io.jdiffusion.tensor.weights.Params;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' {@code UpBlock2D}: resnet j takes {@code (j == 0 ? prev_output_channel : out) +
 * (j == last ? in_channels : out)} channels (h concatenated with a popped skip), then
 * {@code upsamplers.0} unless it is the last level.
 */
final class UpBlock2D implements UNetUpBlock {
    private final List<ResnetBlock2D> resnets = new ArrayList<>();
    private final Upsample2D upsampler;
    private final Backend be;

    UpBlock2D(Params p, int numLayers, int inChannels, int outChannels, int prevOutputChannel, int tembChannels,
              boolean addUpsample, float eps, int groups) {
        this.be = p.backend();
        Params r = p.child("resnets");
        for (int i = 0; i < numLayers; i++) {
            int skip = i == numLayers - 1 ? inChannels : outChannels;
            int resIn = i == 0 ? prevOutputChannel : outChannels;
            resnets.add(new ResnetBlock2D(r.child(i), resIn + skip, outChannels, tembChannels, groups, eps, 1f));
        }
        upsampler = addUpsample ? new Upsample2D(p.child("upsamplers").child(0), outChannels) : null;
    }

    @Override public int numResnets() { return resnets.size(); }

    @Override
    public Tensor forward(Tensor h, List<Tensor> skips, Tensor temb, Tensor context, int[] upsampleSize) {
        for (ResnetBlock2D resnet : resnets) {
            h = be.concat(1, h, skips.removeLast());
            h = resnet.forwardActivated(h, temb);
        }
        return upsampler == null ? h : upsampler.forward(h, upsampleSize);
    }
}
