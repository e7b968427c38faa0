package io.jdiffusion.vae;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.weights.Params;

/** torch.nn.GroupNorm with affine {@code weight}/{@code bias} [channels]. */
record GroupNorm(int groups, Tensor weight, Tensor bias, float eps) {

    static GroupNorm load(Params p, int groups, int channels, float eps) {
        return new GroupNorm(groups, p.get("weight", channels), p.get("bias", channels), eps);
    }

    Tensor forward(Backend be, Tensor x) { return be.groupNorm(x, groups, weight, bias, eps, false); }

    /** GroupNorm followed by SiLU (fused in the backend), the "norm → nonlinearity" pair of every resnet. */
    Tensor forwardSilu(Backend be, Tensor x) { return be.groupNorm(x, groups, weight, bias, eps, true); }
}
