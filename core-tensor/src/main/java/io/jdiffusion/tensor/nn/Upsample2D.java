package io.jdiffusion.tensor.nn;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.weights.Params;

/**
 * diffusers' {@code Upsample2D} with use_conv: nearest-neighbour interpolation, then a 3×3
 * {@code conv} (padding 1). Normally ×2 (each pixel to a 2×2 block); when the UNet's input side is
 * not divisible by 2^(number of upsamplers), the UNet asks for the exact size of the next skip
 * tensor instead, and PyTorch's "nearest" picks source index {@code floor(dst · in / out)}.
 */
public final class Upsample2D {
    private final Conv2d conv;
    private final Backend be;

    public Upsample2D(Params p, int channels) {
        this.be = p.backend();
        this.conv = new Conv2d(p.child("conv"), channels, channels, 3, 1, 1);
    }

    /** x [B, C, h, w] → [B, C, 2h, 2w]. */
    public Tensor forward(Tensor x) { return forward(x, null); }

    /** x [B, C, h, w]; {@code size} {h', w'} or null for ×2. */
    public Tensor forward(Tensor x, int[] size) {
        int h = x.dim(2), w = x.dim(3);
        Tensor up = size == null || (size[0] == 2 * h && size[1] == 2 * w)
                ? be.upsampleNearest2x(x)
                : nearest(be, x, size[0], size[1]);
        return conv.forward(up);
    }

    /**
     * Nearest resize to {@code [ho, wo]} with backend ops only: each axis in turn is moved to the
     * front, its rows gathered with {@link Backend#embedding} (a row gather), and moved back.
     */
    static Tensor nearest(Backend be, Tensor x, int ho, int wo) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        Tensor t = be.permute(x, 2, 0, 1, 3).reshape(h, n * c * w);                  // [h, N·C·w]
        t = be.embedding(t, sourceIndex(h, ho)).reshape(ho, n, c, w);
        t = be.permute(t, 3, 1, 2, 0).reshape(w, n * c * ho);                          // [w, N·C·ho] as (w, n, c, ho)
        t = be.embedding(t, sourceIndex(w, wo)).reshape(wo, n, c, ho);
        return be.permute(t, 1, 2, 3, 0);                                               // [N, C, ho, wo]
    }

    /** PyTorch's legacy "nearest": src = min(floor(dst · (in / out)), in − 1), scale in f32. */
    static int[] sourceIndex(int in, int out) {
        float scale = (float) in / out;
        int[] idx = new int[out];
        for (int i = 0; i < out; i++) idx[i] = Math.min((int) Math.floor(i * scale), in - 1);
        return idx;
    }
}
