package io.jdiffusion.unet;

import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.nn.Attention;
import io.jdiffusion.tensor.nn.LayerNorm;
import io.jdiffusion.tensor.weights.Params;

/**
 * diffusers' {@code BasicTransformerBlock} with norm_type "layer_norm" (eps 1e-5, affine), as used by
 * Transformer2DModel in the SDXL UNet: {@code y = attn1(norm1(y)) + y} (self),
 * {@code y = attn2(norm2(y), context) + y} (cross), {@code y = ff(norm3(y)) + y} (GEGLU).
 */
final class BasicTransformerBlock {
    private static final float LN_EPS = 1e-5f;

    private final LayerNorm norm1, norm2, norm3;
    private final Attention attn1, attn2;
    private final FeedForward ff;

    BasicTransformerBlock(Params p, int dim, int heads, int dimHead, int crossAttentionDim) {
        this.norm1 = new LayerNorm(p.child("norm1"), dim, LN_EPS);
        this.attn1 = Attention.of(p.child("attn1"), dim, dim, heads, dimHead, false);
        this.norm2 = new LayerNorm(p.child("norm2"), dim, LN_EPS);
        this.attn2 = Attention.of(p.child("attn2"), dim, crossAttentionDim, heads, dimHead, false);
        this.norm3 = new LayerNorm(p.child("norm3"), dim, LN_EPS);
        this.ff = new FeedForward(p.child("ff"), dim, 4);
    }

    /** y [B, S, dim], context [B, Sk, crossDim]. */
    Tensor forward(Tensor y, Tensor context) {
        // each residual add happens in the branch's last GEMM (Backend.linearAdd; two ops on the CPU, as before)
        y = attn1.forward(norm1.forward(y), null, y);
        y = attn2.forward(norm2.forward(y), context, y);
        return ff.forward(norm3.forward(y), y);
    }
}
