package io.jdiffusion.unet;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.nn.Conv2d;
import io.jdiffusion.tensor.nn.GroupNorm;
import io.jdiffusion.tensor.nn.Linear;
import io.jdiffusion.tensor.weights.Params;

/**
 * diffusers' {@code ResnetBlock2D} as the SDXL UNet configures it (time_embedding_norm "default",
 * SiLU, pre-norm, dropout 0):
 * {@code h = conv1(SiLU(norm1(x))) + time_emb_proj(SiLU(temb))[:, :, None, None];
 * h = conv2(SiLU(norm2(h))); out = (shortcut(x) + h) / output_scale_factor}, where the shortcut is a
 * 1×1 {@code conv_shortcut} exactly when the channel count changes.
 */
final class ResnetBlock2D {
    final int inChannels, outChannels;
    private final GroupNorm norm1, norm2;
    private final Conv2d conv1, conv2, convShortcut;
    private final Linear timeEmbProj;
    private final float outputScaleFactor;
    private final Backend be;

    ResnetBlock2D(Params p, int inChannels, int outChannels, int tembChannels, int groups, float eps, float outputScaleFactor) {
        this.be = p.backend();
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.outputScaleFactor = outputScaleFactor;
        this.norm1 = new GroupNorm(p.child("norm1"), groups, inChannels, eps);
        this.conv1 = new Conv2d(p.child("conv1"), inChannels, outChannels, 3, 1, 1);
        this.timeEmbProj = new Linear(p.child("time_emb_proj"), tembChannels, outChannels, true);
        this.norm2 = new GroupNorm(p.child("norm2"), groups, outChannels, eps);
        this.conv2 = new Conv2d(p.child("conv2"), outChannels, outChannels, 3, 1, 1);
        this.convShortcut = inChannels != outChannels ? new Conv2d(p.child("conv_shortcut"), inChannels, outChannels, 1, 1, 0) : null;
    }

    /** x [B, in, h, w], temb [B, temb] → [B, out, h, w]. */
    Tensor forward(Tensor x, Tensor temb) {
        Tensor h = conv1.forward(norm1.forwardSilu(x));
        Tensor t = timeEmbProj.forward(be.silu(temb));
        h = be.add(h, t.reshape(t.dim(0), outChannels, 1, 1));
        h = conv2.forward(norm2.forwardSilu(h));
        Tensor shortcut = convShortcut == null ? x : convShortcut.forward(x);
        Tensor out = be.add(shortcut, h);
        return outputScaleFactor == 1f ? out : be.mulScalar(out, 1f / outputScaleFactor);
    }
}
