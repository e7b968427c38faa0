package io.jdiffusion.unet;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.nn.Linear;
import io.jdiffusion.tensor.weights.Params;

/**
 * diffusers' {@code Attention} (AttnProcessor2_0) as BasicTransformerBlock builds it: {@code to_q},
 * {@code to_k}, {@code to_v} without bias (attention_bias false), {@code to_out.0} with bias;
 * {@code heads} heads of {@code dim_head} each, softmax scale 1/√dim_head, no mask. Self-attention
 * when no context is given, else keys/values come from the context (cross-attention).
 */
final class Attention {
    private final int heads, dimHead;
    private final Linear toQ, toK, toV, toOut;
    private final Backend be;

    Attention(Params p, int queryDim, int crossAttentionDim, int heads, int dimHead) {
        this.be = p.backend();
        this.heads = heads;
        this.dimHead = dimHead;
        int inner = heads * dimHead;
        this.toQ = new Linear(p.child("to_q"), queryDim, inner, false);
        this.toK = new Linear(p.child("to_k"), crossAttentionDim, inner, false);
        this.toV = new Linear(p.child("to_v"), crossAttentionDim, inner, false);
        this.toOut = new Linear(p.child("to_out").child(0), inner, queryDim, true);
    }

    /** x [B, S, queryDim], context [B, Sk, crossDim] or null (self-attention) → [B, S, queryDim]. */
    Tensor forward(Tensor x, Tensor context) {
        Tensor kv = context == null ? x : context;
        Tensor q = splitHeads(toQ.forward(x));
        Tensor k = splitHeads(toK.forward(kv));
        Tensor v = splitHeads(toV.forward(kv));
        Tensor o = be.attention(q, k, v, false);                      // [B, H, S, D]
        int b = x.dim(0), s = x.dim(1);
        o = be.permute(o, 0, 2, 1, 3).reshape(b, s, heads * dimHead); // [B, S, H·D]
        return toOut.forward(o);
    }

    /** [B, S, H·D] → [B, H, S, D]. */
    private Tensor splitHeads(Tensor t) {
        int b = t.dim(0), s = t.dim(1);
        return be.permute(t.reshape(b, s, heads, dimHead), 0, 2, 1, 3);
    }
}
