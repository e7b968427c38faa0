package io.jdiffusion.tensor.nn;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.weights.Params;

/** torch.nn.Conv2d with bias: {@code weight [out, in, k, k]}, {@code bias [out]}, zero padding on all sides. */
public final class Conv2d {
    private final Tensor weight, bias;
    private final int stride, padding;
    private final Backend be;

    public Conv2d(Params p, int in, int out, int kernel, int stride, int padding) {
        this.be = p.backend();
        this.weight = p.get("weight", out, in, kernel, kernel);
        this.bias = p.get("bias", out);
        this.stride = stride;
        this.padding = padding;
    }

    public Tensor forward(Tensor x) { return be.conv2d(x, weight, bias, stride, padding); }

    /** {@code forward(x) + residual} (of the output's shape, or [N, O, 1, 1]), added in the convolution's bias pass where the backend can ({@link Backend#conv2dAdd}). */
    public Tensor forwardAdd(Tensor x, Tensor residual) { return be.conv2dAdd(x, weight, bias, stride, padding, residual); }
}
