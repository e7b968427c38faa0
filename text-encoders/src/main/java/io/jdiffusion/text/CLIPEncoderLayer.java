package io.jdiffusion.text;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.nn.LayerNorm;
import io.jdiffusion.tensor.weights.Params;

/** {@code encoder.layers.N}: pre-LayerNorm transformer block (spec §2.2 step 3). */
final class CLIPEncoderLayer {
    private final CLIPAttention selfAttn;
    private final CLIPMLP mlp;
    private final LayerNorm layerNorm1, layerNorm2;

    CLIPEncoderLayer(CLIPTextConfig c, Params p) {
        int d = c.hiddenSize();
        float eps = (float) c.layerNormEps();
        selfAttn = new CLIPAttention(c, p.child("self_attn"));
        layerNorm1 = new LayerNorm(p.child("layer_norm1"), d, eps);
        mlp = new CLIPMLP(c, p.child("mlp"));
        layerNorm2 = new LayerNorm(p.child("layer_norm2"), d, eps);
    }

    Tensor forward(Backend be, Tensor x) {
        Tensor h = be.add(x, selfAttn.forward(be, layerNorm1.forward(x)));
        return be.add(h, mlp.forward(be, layerNorm2.forward(h)));
    }
}
