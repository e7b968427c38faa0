package io.jdiffusion.text;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.nn.Linear;
import io.jdiffusion.tensor.weights.Params;

/** {@code mlp}: fc1 → hidden_act (quick_gelu or exact gelu) → fc2. */
final class CLIPMLP {
    private final boolean quickGelu;
    private final Linear fc1, fc2;
    private final Backend be;

    CLIPMLP(CLIPTextConfig c, Params p) {
        be = p.backend();
        quickGelu = c.hiddenAct().equals("quick_gelu");
        fc1 = new Linear(p.child("fc1"), c.hiddenSize(), c.intermediateSize(), true);
        fc2 = new Linear(p.child("fc2"), c.intermediateSize(), c.hiddenSize(), true);
    }

    Tensor forward(Tensor x) {
        Tensor h = fc1.forward(x);
        h = quickGelu ? be.quickGelu(h) : be.gelu(h);
        return fc2.forward(h);
    }
}
