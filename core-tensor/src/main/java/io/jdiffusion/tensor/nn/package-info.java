/**
 * The torch.nn layers every model shares (Linear, Conv2d, GroupNorm, LayerNorm), built from a
 * {@link io.jdiffusion.tensor.weights.Params} node with PyTorch's parameter names and run on its backend.
 */
package io.jdiffusion.tensor.nn;
