package io.jdiffusion.unet;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.weights.Params;

/** torch.nn.Linear: {@code weight [out, in]}, optional {@code bias [out]}; y = x·Wᵀ + b over the last dimension. */
final class Linear {
    final int in, out;
    private final Tensor weight, bias;
    private final Backend be;

    Linear(Params p, int in, int out, boolean bias) {
        this.in = in;
        this.out = out;
        this.be = p.backend();
        this.weight = p.get("weight", out, in);
        this.bias = bias ? p.get("bias", out) : null;
    }

    Tensor forward(Tensor x) { return be.linear(x, weight, bias); }
}
