package io.jdiffusion.tensor.nn;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.weights.Params;

/** torch.nn.GroupNorm with affine {@code weight}/{@code bias [channels]}; optionally fused with the SiLU that follows it. */
public final class GroupNorm {
    private final int groups;
    private final float eps;
    private final Tensor weight, bias;
    private final Backend be;

    public GroupNorm(Params p, int groups, int channels, float eps) {
        if (groups <= 0 || channels % groups != 0) {
            throw new IllegalArgumentException(p.key("weight") + ": " + channels + " channels do not split into norm_num_groups = "
                    + groups + " groups");
        }
        this.be = p.backend();
        this.groups = groups;
        this.eps = eps;
        this.weight = p.get("weight", channels);
        this.bias = p.get("bias", channels);
    }

    public Tensor forward(Tensor x) { return be.groupNorm(x, groups, weight, bias, eps, false); }

    /** The norm of an image [N, C, h, w] as tokens [N, h·w, C], in one pass where the backend can ({@link Backend#groupNormToTokens}). */
    public Tensor forwardToTokens(Tensor x) { return be.groupNormToTokens(x, groups, weight, bias, eps); }

    /** GroupNorm then SiLU, the "norm → nonlinearity" pair of every resnet, fused in the backend. */
    public Tensor forwardSilu(Tensor x) { return be.groupNorm(x, groups, weight, bias, eps, true); }
}
