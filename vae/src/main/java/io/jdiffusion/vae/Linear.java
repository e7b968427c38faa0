package io.jdiffusion.vae;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.weights.Params;

/** torch.nn.Linear with bias: {@code weight} [out, in], {@code bias} [out]. */
record Linear(Tensor weight, Tensor bias) {

    static Linear load(Params p, int in, int out) { return new Linear(p.get("weight", out, in), p.get("bias", out)); }

    Tensor forward(Backend be, Tensor x) { return be.linear(x, weight, bias); }
}
