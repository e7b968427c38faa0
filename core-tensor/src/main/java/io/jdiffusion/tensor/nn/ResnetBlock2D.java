package io.jdiffusion.tensor.nn;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.weights.Params;

/**
 * diffusers' {@code ResnetBlock2D} as the SDXL UNet and VAE configure it (time_embedding_norm
 * "default", SiLU, pre-norm, dropout 0, one group count and eps for both norms):
 * <pre>
 *   h = conv1(SiLU(norm1(x)))
 *   h = h + time_emb_proj(SiLU(temb))[:, :, None, None]      (UNet only: temb_channels given)
 *   h = conv2(SiLU(norm2(h)))
 *   out = (shortcut(x) + h) / output_scale_factor            shortcut = 1×1 conv_shortcut iff in != out channels
 * </pre>
 * The VAE's blocks have no time embedding ({@code temb_channels=None}, 0 here) and scale factor 1.
 */
public final class ResnetBlock2D {
    private final int inChannels, outChannels;
    private final GroupNorm norm1, norm2;
    private final Conv2d conv1, conv2;
    /** Null when the block takes no time embedding (the VAE's). */
    private final Linear timeEmbProj;
    /** Null when in and out widths agree (identity shortcut). */
    private final Conv2d convShortcut;
    private final float outputScaleFactor;
    /** The full key of time_emb_proj, for messages. */
    private final String timeEmbProjKey;
    private final Backend be;

    /** {@code tembChannels} 0 builds a block without {@code time_emb_proj} (diffusers' temb_channels=None). */
    public ResnetBlock2D(Params p, int inChannels, int outChannels, int tembChannels, int groups, float eps, float outputScaleFactor) {
        this.be = p.backend();
        this.timeEmbProjKey = p.key("time_emb_proj");
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.outputScaleFactor = outputScaleFactor;
        // requested in diffusers' registration order (norm1, conv1, time_emb_proj, norm2, conv2, conv_shortcut)
        this.norm1 = new GroupNorm(p.child("norm1"), groups, inChannels, eps);
        this.conv1 = new Conv2d(p.child("conv1"), inChannels, outChannels, 3, 1, 1);
        this.timeEmbProj = tembChannels > 0 ? new Linear(p.child("time_emb_proj"), tembChannels, outChannels, true) : null;
        this.norm2 = new GroupNorm(p.child("norm2"), groups, outChannels, eps);
        this.conv2 = new Conv2d(p.child("conv2"), outChannels, outChannels, 3, 1, 1);
        this.convShortcut = inChannels != outChannels ? new Conv2d(p.child("conv_shortcut"), inChannels, outChannels, 1, 1, 0) : null;
    }

    public int inChannels() { return inChannels; }

    public int outChannels() { return outChannels; }

    /** x [B, in, h, w] → [B, out, h, w], for a block without time embedding. */
    public Tensor forward(Tensor x) { return forward(x, null); }

    /** x [B, in, h, w], temb [B, temb_channels] (null exactly when the block has no time_emb_proj) → [B, out, h, w]. */
    public Tensor forward(Tensor x, Tensor temb) {
        checkTemb(temb);
        return forwardActivated(x, temb == null ? null : be.silu(temb));
    }

    /** As {@link #forward(Tensor, Tensor)}, given SiLU(temb): the UNet applies it once for all its blocks. */
    public Tensor forwardActivated(Tensor x, Tensor tembSilu) {
        checkTemb(tembSilu);
        Tensor normed = norm1.forwardSilu(x), h;
        if (timeEmbProj == null) {
            h = conv1.forward(normed);
        } else {
            // + time_emb_proj(temb)[:, :, None, None], added in conv1's bias pass where the backend can
            Tensor t = timeEmbProj.forward(tembSilu);
            h = conv1.forwardAdd(normed, t.reshape(t.dim(0), outChannels, 1, 1));
        }
        Tensor shortcut = convShortcut == null ? x : convShortcut.forward(x);
        normed = norm2.forwardSilu(h);
        // out = shortcut + conv2(...), the add done in conv2's bias pass where the backend can
        if (outputScaleFactor == 1f) return conv2.forwardAdd(normed, shortcut);
        return be.mulScalar(be.add(shortcut, conv2.forward(normed)), 1f / outputScaleFactor);
    }

    private void checkTemb(Tensor temb) {
        if ((temb == null) != (timeEmbProj == null)) {
            throw new IllegalArgumentException(timeEmbProjKey + (timeEmbProj == null
                    ? ": this block has none (temb_channels = None) but was given a time embedding"
                    : ": this block needs a time embedding (temb), got none"));
        }
    }
}
