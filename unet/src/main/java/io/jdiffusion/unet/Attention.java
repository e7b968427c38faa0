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
        // [B, S, H·D] in and out: CUDA reads the heads in place, other backends split and merge them
        Tensor o = be.attentionHeads(toQ.forward(x), toK.forward(kv), toV.forward(kv), heads);
        return toOut.forward(o);
    }
}
