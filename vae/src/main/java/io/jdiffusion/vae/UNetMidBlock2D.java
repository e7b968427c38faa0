package io.jdiffusion.vae;

import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.nn.Attention;
import io.jdiffusion.tensor.nn.ResnetBlock2D;
import io.jdiffusion.tensor.weights.Params;

/**
 * diffusers {@code UNetMidBlock2D} with one layer, as Encoder and Decoder build it: resnets.0 →
 * attentions.0 (when {@code mid_block_add_attention}) → resnets.1, all at the deepest width.
 */
final class UNetMidBlock2D {
    final ResnetBlock2D resnet0;
    final Attention attention;
    final ResnetBlock2D resnet1;

    UNetMidBlock2D(Params p, int channels, int groups, float eps, boolean addAttention) {
        resnet0 = new ResnetBlock2D(p.child("resnets").child(0), channels, channels, 0, groups, eps, 1f);
        // attention_head_dim = channels: one head as wide as the block.
        attention = addAttention ? Attention.vaeMidBlock(p.child("attentions").child(0), channels, channels, groups, eps) : null;
        resnet1 = new ResnetBlock2D(p.child("resnets").child(1), channels, channels, 0, groups, eps, 1f);
    }

    Tensor forward(Tensor x) {
        Tensor h = resnet0.forward(x);
        if (attention != null) h = attention.forward(h);
        return resnet1.forward(h);
    }
}
