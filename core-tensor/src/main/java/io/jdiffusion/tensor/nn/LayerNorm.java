package io.jdiffusion.tensor.nn;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.weights.Params;

/** torch.nn.LayerNorm over the last dimension with affine {@code weight}/{@code bias}. */
public final class LayerNorm {
    private final float eps;
    private final Tensor weight, bias;
    private final Backend be;

    public LayerNorm(Params p, int dim, float eps) {
        this.be = p.backend();
        this.eps = eps;
        this.weight = p.get("weight", dim);
        this.bias = p.get("bias", dim);
    }

    public Tensor forward(Tensor x) { return be.layerNorm(x, weight, bias, eps); }
}
