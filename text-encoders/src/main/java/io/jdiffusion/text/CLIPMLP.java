package io.jdiffusion.text;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.weights.Params;

/** {@code mlp}: fc1 → hidden_act (quick_gelu or exact gelu) → fc2. */
final class CLIPMLP {
    private final boolean quickGelu;
    private final Tensor fc1W, fc1B, fc2W, fc2B;

    CLIPMLP(CLIPTextConfig c, Params p) {
        quickGelu = c.hiddenAct().equals("quick_gelu");
        fc1W = p.child("fc1").get("weight", c.intermediateSize(), c.hiddenSize());
        fc1B = p.child("fc1").get("bias", c.intermediateSize());
        fc2W = p.child("fc2").get("weight", c.hiddenSize(), c.intermediateSize());
        fc2B = p.child("fc2").get("bias", c.hiddenSize());
    }

    Tensor forward(Backend be, Tensor x) {
        Tensor h = be.linear(x, fc1W, fc1B);
        h = quickGelu ? be.quickGelu(h) : be.gelu(h);
        return be.linear(h, fc2W, fc2B);
    }
}
