package io.jdiffusion.unet;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Lifetimes;
import java.util.function.UnaryOperator;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.nn.Conv2d;
import io.jdiffusion.tensor.nn.GroupNorm;
import io.jdiffusion.tensor.nn.Linear;
import io.jdiffusion.tensor.weights.Params;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' {@code Transformer2DModel} on continuous input:
 * {@code res = x; y = norm(x)} (GroupNorm, eps 1e-6); the image becomes tokens
 * {@code [B, h·w, C]} (token = row·w + col); {@code proj_in}; the BasicTransformerBlocks;
 * {@code proj_out}; back to {@code [B, C, h, w]}; {@code + res}. With use_linear_projection
 * (SDXL) the projections are Linear layers applied to the tokens, otherwise 1×1 convolutions
 * applied to the image before/after the reshape.
 */
final class Transformer2DModel {
    private static final float NORM_EPS = 1e-6f;

    private final int innerDim;
    private final boolean useLinearProjection;
    private final GroupNorm norm;
    /** proj_in: a Linear layer on the tokens with use_linear_projection, else a 1×1 convolution on the image. */
    private final UnaryOperator<Tensor> projIn;
    /** proj_out: a Linear layer (tokens back to the image, the residual added) or a 1×1 convolution; the other null. */
    private final Linear linearOut;
    private final Conv2d convOut;
    private final List<BasicTransformerBlock> transformerBlocks = new ArrayList<>();
    private final Backend be;

    Transformer2DModel(Params p, int heads, int dimHead, int inChannels, int numLayers, int crossAttentionDim,
                       int normGroups, boolean useLinearProjection) {
        this.be = p.backend();
        this.innerDim = heads * dimHead;
        if (innerDim <= 0) {
            throw new IllegalArgumentException(p.key("") + ": " + inChannels + " channels give head size " + dimHead + " with " + heads + " heads");
        }
        this.useLinearProjection = useLinearProjection;
        this.norm = new GroupNorm(p.child("norm"), normGroups, inChannels, NORM_EPS);
        projIn = projection(p.child("proj_in"), inChannels, innerDim, useLinearProjection);
        Params blocks = p.child("transformer_blocks");
        for (int i = 0; i < numLayers; i++) {
            transformerBlocks.add(new BasicTransformerBlock(blocks.child(i), innerDim, heads, dimHead, crossAttentionDim));
        }
        linearOut = useLinearProjection ? new Linear(p.child("proj_out"), innerDim, inChannels, true) : null;
        convOut = useLinearProjection ? null : new Conv2d(p.child("proj_out"), innerDim, inChannels, 1, 1, 0);
    }

    private static UnaryOperator<Tensor> projection(Params p, int in, int out, boolean linear) {
        return linear ? new Linear(p, in, out, true)::forward : new Conv2d(p, in, out, 1, 1, 0)::forward;
    }

    /** x [B, C, h, w], context [B, S, crossDim] → [B, C, h, w]. */
    Tensor forward(Tensor x, Tensor context) {
        int b = x.dim(0), h = x.dim(2), w = x.dim(3);
        Tensor y;
        if (useLinearProjection) {
            y = projIn.apply(norm.forwardToTokens(x));   // the norm writes the tokens' layout where the backend can
        } else {
            y = toTokens(projIn.apply(norm.forward(x)), b, innerDim, h, w);
        }
        y = Lifetimes.chain(be, y, transformerBlocks.stream().<UnaryOperator<Tensor>>map(block -> t -> block.forward(t, context)).toList());
        // with linear projections: GEMM into the image layout, bias and residual in one pass where the backend can
        if (useLinearProjection) return linearOut.forwardToImageAdd(y, x);
        return be.add(convOut.forward(toImage(y, b, innerDim, h, w)), x);
    }

    /** [B, C, h, w] → [B, h·w, C]. */
    private Tensor toTokens(Tensor t, int b, int c, int h, int w) {
        return be.permute(t, 0, 2, 3, 1).reshape(b, h * w, c);
    }

    /** [B, h·w, C] → [B, C, h, w]. */
    private Tensor toImage(Tensor t, int b, int c, int h, int w) {
        return be.permute(t.reshape(b, h, w, c), 0, 3, 1, 2);
    }
}
