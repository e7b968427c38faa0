package io.jdiffusion.tensor.nn;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.weights.Params;

/** torch.nn.Linear: {@code weight [out, in]}, optional {@code bias [out]}; y = x·Wᵀ + b over the last dimension. */
public final class Linear {
    private final int in, out;
    private final Tensor weight, bias;
    private final Backend be;

    public Linear(Params p, int in, int out, boolean bias) {
        this.in = in;
        this.out = out;
        this.be = p.backend();
        this.weight = p.get("weight", out, in);
        this.bias = bias ? p.get("bias", out) : null;
    }

    /** Over weights already loaded, e.g. one slice of a {@link Params#stacked stack}; {@code bias} may be null. */
    public Linear(Backend be, Tensor weight, Tensor bias) {
        this.in = weight.dim(1);
        this.out = weight.dim(0);
        this.be = be;
        this.weight = weight;
        this.bias = bias;
    }

    public int in() { return in; }

    public int out() { return out; }

    public Tensor forward(Tensor x) { return be.linear(x, weight, bias); }

    /** {@code forward(x) + residual}, the residual added in the GEMM where the backend can ({@link Backend#linearAdd}). */
    public Tensor forwardAdd(Tensor x, Tensor residual) { return be.linearAdd(x, weight, bias, residual); }

    /** Tokens x[N, h·w, in] → image [N, out, h, w] + residual, in the GEMM's layout where the backend can ({@link Backend#linearToImageAdd}). */
    public Tensor forwardToImageAdd(Tensor x, Tensor residual) { return be.linearToImageAdd(x, weight, bias, residual); }
}
