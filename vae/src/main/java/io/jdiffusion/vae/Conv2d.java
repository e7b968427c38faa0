package io.jdiffusion.vae;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.weights.Params;

/** torch.nn.Conv2d with bias: parameters {@code weight} [out, in, k, k] and {@code bias} [out]. */
record Conv2d(Tensor weight, Tensor bias, int stride, int padding) {

    static Conv2d load(Params p, int in, int out, int kernel, int stride, int padding) {
        return new Conv2d(p.get("weight", out, in, kernel, kernel), p.get("bias", out), stride, padding);
    }

    int outChannels() { return weight.dim(0); }

    Tensor forward(Backend be, Tensor x) { return be.conv2d(x, weight, bias, stride, padding); }
}
