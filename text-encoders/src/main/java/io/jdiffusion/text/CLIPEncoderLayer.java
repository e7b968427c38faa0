package io.jdiffusion.text;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.weights.Params;

/** {@code encoder.layers.N}: pre-LayerNorm transformer block (spec §2.2 step 3). */
final class CLIPEncoderLayer {
    private final CLIPAttention selfAttn;
    private final CLIPMLP mlp;
    private final Tensor ln1W, ln1B, ln2W, ln2B;
    private final float eps;

    CLIPEncoderLayer(CLIPTextConfig c, Params p) {
        int d = c.hiddenSize();
        eps = (float) c.layerNormEps();
        selfAttn = new CLIPAttention(c, p.child("self_attn"));
        ln1W = p.child("layer_norm1").get("weight", d);
        ln1B = p.child("layer_norm1").get("bias", d);
        mlp = new CLIPMLP(c, p.child("mlp"));
        ln2W = p.child("layer_norm2").get("weight", d);
        ln2B = p.child("layer_norm2").get("bias", d);
    }

    Tensor forward(Backend be, Tensor x) {
        Tensor h = be.add(x, selfAttn.forward(be, be.layerNorm(x, ln1W, ln1B, eps)));
        return be.add(h, mlp.forward(be, be.layerNorm(h, ln2W, ln2B, eps)));
    }
}
