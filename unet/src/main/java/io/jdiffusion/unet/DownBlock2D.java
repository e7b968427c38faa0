package io.jdiffusion.unet;

import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.nn.Downsample2D;
import io.jdiffusion.tensor.nn.ResnetBlock2D;
import io.jdiffusion.tensor.weights.Params;

import java.util.ArrayList;
import java.util.List;

/** diffusers' {@code DownBlock2D}: {@code resnets.0..n-1}, then {@code downsamplers.0} unless it is the last level. */
final class DownBlock2D implements UNetDownBlock {
    private final List<ResnetBlock2D> resnets = new ArrayList<>();
    private final Downsample2D downsampler;

    DownBlock2D(Params p, int numLayers, int inChannels, int outChannels, int tembChannels, boolean addDownsample,
                float eps, int groups, int downsamplePadding) {
        Params r = p.child("resnets");
        for (int i = 0; i < numLayers; i++) {
            resnets.add(new ResnetBlock2D(r.child(i), i == 0 ? inChannels : outChannels, outChannels, tembChannels, groups, eps, 1f));
        }
        downsampler = addDownsample ? new Downsample2D(p.child("downsamplers").child(0), outChannels, downsamplePadding) : null;
    }

    @Override
    public Tensor forward(Tensor h, Tensor temb, Tensor context, List<Tensor> skips) {
        for (ResnetBlock2D resnet : resnets) {
            h = resnet.forwardActivated(h, temb);
            skips.add(h);
        }
        if (downsampler != null) {
            h = downsampler.forward(h);
            skips.add(h);
        }
        return h;
    }
}
