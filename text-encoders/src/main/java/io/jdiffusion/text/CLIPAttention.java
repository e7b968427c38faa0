package io.jdiffusion.text;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.nn.Linear;
import io.jdiffusion.tensor.weights.Params;

/**
 * {@code self_attn}: multi-head self-attention with biased q/k/v/out projections, scale
 * 1/sqrt(head_dim) and CLIP's causal mask (token i sees tokens j <= i; padding is attended to).
 */
final class CLIPAttention {
    private final int heads, headDim;
    private final Linear qProj, kProj, vProj, outProj;

    CLIPAttention(CLIPTextConfig c, Params p) {
        int d = c.hiddenSize();
        heads = c.numAttentionHeads();
        headDim = c.headDim();
        // transformers' registration order: k, v, q, out (as in the official state dict).
        kProj = new Linear(p.child("k_proj"), d, d, true);
        vProj = new Linear(p.child("v_proj"), d, d, true);
        qProj = new Linear(p.child("q_proj"), d, d, true);
        outProj = new Linear(p.child("out_proj"), d, d, true);
    }

    /** x [B, S, D] → [B, S, D]. */
    Tensor forward(Backend be, Tensor x) {
        int b = x.dim(0), s = x.dim(1), d = x.dim(2);
        Tensor q = splitHeads(be, qProj.forward(x), b, s);
        Tensor k = splitHeads(be, kProj.forward(x), b, s);
        Tensor v = splitHeads(be, vProj.forward(x), b, s);
        Tensor o = be.attention(q, k, v, true);                       // [B, H, S, hd]
        o = be.permute(o, 0, 2, 1, 3).reshape(b, s, d);              // merge heads
        return outProj.forward(o);
    }

    private Tensor splitHeads(Backend be, Tensor t, int b, int s) {
        return be.permute(t.reshape(b, s, heads, headDim), 0, 2, 1, 3);
    }
}
