package io.jdiffusion.text;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.nn.Attention;
import io.jdiffusion.tensor.nn.LayerNorm;
import io.jdiffusion.tensor.weights.Params;

/**
 * {@code encoder.layers.N}: pre-LayerNorm transformer block (spec §2.2 step 3), whose
 * {@code self_attn} is transformers' CLIPAttention (biased q/k/v/out projections, scale
 * 1/sqrt(head_dim), CLIP's causal mask: token i sees tokens j <= i; padding is attended to).
 */
final class CLIPEncoderLayer {
    private final Attention selfAttn;
    private final CLIPMLP mlp;
    private final LayerNorm layerNorm1, layerNorm2;
    private final Backend be;

    CLIPEncoderLayer(CLIPTextConfig c, Params p) {
        be = p.backend();
        int d = c.hiddenSize();
        float eps = (float) c.layerNormEps();
        selfAttn = Attention.clip(p.child("self_attn"), d, c.numAttentionHeads());
        layerNorm1 = new LayerNorm(p.child("layer_norm1"), d, eps);
        mlp = new CLIPMLP(c, p.child("mlp"));
        layerNorm2 = new LayerNorm(p.child("layer_norm2"), d, eps);
    }

    Tensor forward(Tensor x) {
        Tensor h = be.add(x, selfAttn.forward(layerNorm1.forward(x)));
        return be.add(h, mlp.forward(layerNorm2.forward(h)));
    }
}
