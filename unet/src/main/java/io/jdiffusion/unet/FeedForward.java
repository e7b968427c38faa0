package io.jdiffusion.unet;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.nn.Linear;
import io.jdiffusion.tensor.weights.Params;

/**
 * diffusers' {@code FeedForward} with activation_fn "geglu" (mult 4, dropout 0): {@code net.0} is a
 * GEGLU whose {@code proj} maps dim → 2·inner (inner = 4·dim), split into {@code a | g} along the
 * last dimension, {@code a · GELU_erf(g)}; {@code net.1} is dropout; {@code net.2} maps inner → dim.
 */
final class FeedForward {
    private final Linear proj, out;
    private final Backend be;

    FeedForward(Params p, int dim, int mult) {
        this.be = p.backend();
        int inner = dim * mult;
        this.proj = new Linear(p.child("net").child(0).child("proj"), dim, inner * 2, true);
        this.out = new Linear(p.child("net").child(2), inner, dim, true);
    }

    /** {@code ff(x) + residual}, the residual added in the output projection's GEMM where the backend can. */
    Tensor forward(Tensor x, Tensor residual) { return out.forwardAdd(be.geglu(proj.forward(x)), residual); }
}
