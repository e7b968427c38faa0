package io.jdiffusion.text;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.weights.Params;

/**
 * {@code self_attn}: multi-head self-attention with biased q/k/v/out projections, scale
 * 1/sqrt(head_dim) and CLIP's causal mask (token i sees tokens j <= i; padding is attended to).
 */
final class CLIPAttention {
    private final int heads, headDim;
    private final Tensor qW, qB, kW, kB, vW, vB, oW, oB;

    CLIPAttention(CLIPTextConfig c, Params p) {
        int d = c.hiddenSize();
        heads = c.numAttentionHeads();
        headDim = c.headDim();
        // transformers' registration order: k, v, q, out (as in the official state dict).
        kW = p.child("k_proj").get("weight", d, d);
        kB = p.child("k_proj").get("bias", d);
        vW = p.child("v_proj").get("weight", d, d);
        vB = p.child("v_proj").get("bias", d);
        qW = p.child("q_proj").get("weight", d, d);
        qB = p.child("q_proj").get("bias", d);
        oW = p.child("out_proj").get("weight", d, d);
        oB = p.child("out_proj").get("bias", d);
    }

    /** x [B, S, D] → [B, S, D]. */
    Tensor forward(Backend be, Tensor x) {
        int b = x.dim(0), s = x.dim(1), d = x.dim(2);
        Tensor q = splitHeads(be, be.linear(x, qW, qB), b, s);
        Tensor k = splitHeads(be, be.linear(x, kW, kB), b, s);
        Tensor v = splitHeads(be, be.linear(x, vW, vB), b, s);
        Tensor o = be.attention(q, k, v, true);                       // [B, H, S, hd]
        o = be.permute(o, 0, 2, 1, 3).reshape(b, s, d);              // merge heads
        return be.linear(o, oW, oB);
    }

    private Tensor splitHeads(Backend be, Tensor t, int b, int s) {
        return be.permute(t.reshape(b, s, heads, headDim), 0, 2, 1, 3);
    }
}
