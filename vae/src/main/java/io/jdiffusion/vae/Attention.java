package io.jdiffusion.vae;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.nn.GroupNorm;
import io.jdiffusion.tensor.nn.Linear;
import io.jdiffusion.tensor.weights.Params;

/**
 * diffusers {@code Attention} as the VAE mid block builds it (the converted LDM {@code AttnBlock}):
 * spatial self-attention with a GroupNorm in front ({@code group_norm}), {@code to_q/to_k/to_v} and
 * {@code to_out.0} Linear layers with bias, residual connection, rescale factor 1. The mid block
 * passes {@code attention_head_dim = channels}, so there is a single head of width C and the
 * softmax scale is 1/sqrt(C).
 * <pre>
 *   y = group_norm(x)                     [B, C, H, W]
 *   t = y viewed as [B, H*W, C]           (token = row*W + col)
 *   t = to_out.0(softmax(q k^T / sqrt(C/heads)) v)
 *   out = t viewed back as [B, C, H, W] + x
 * </pre>
 */
final class Attention {
    final GroupNorm groupNorm;
    final Linear toQ, toK, toV, toOut;
    final int heads;

    Attention(Params p, int channels, int headDim, int groups, float eps) {
        if (channels % headDim != 0) {
            throw new IllegalArgumentException("attention: " + channels + " channels do not split into heads of " + headDim);
        }
        heads = channels / headDim;
        groupNorm = new GroupNorm(p.child("group_norm"), groups, channels, eps);
        toQ = new Linear(p.child("to_q"), channels, channels, true);
        toK = new Linear(p.child("to_k"), channels, channels, true);
        toV = new Linear(p.child("to_v"), channels, channels, true);
        toOut = new Linear(p.child("to_out").child(0), channels, channels, true);
    }

    Tensor forward(Backend be, Tensor x) {
        int b = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3), s = h * w, d = c / heads;
        Tensor tokens = be.transpose(groupNorm.forward(x).reshape(b, c, s), 1, 2);   // [B, S, C]
        Tensor q = splitHeads(be, toQ.forward(tokens), b, s, d);
        Tensor k = splitHeads(be, toK.forward(tokens), b, s, d);
        Tensor v = splitHeads(be, toV.forward(tokens), b, s, d);
        Tensor a = be.attention(q, k, v, false);                                          // [B, heads, S, d]
        Tensor merged = heads == 1 ? a.reshape(b, s, c) : be.transpose(a, 1, 2).reshape(b, s, c);
        Tensor o = toOut.forward(merged);                                             // [B, S, C]
        Tensor spatial = be.transpose(o, 1, 2).reshape(b, c, h, w);
        return be.add(spatial, x);   // residual_connection=True; rescale_output_factor 1
    }

    /** [B, S, heads*d] → [B, heads, S, d]; a free view for one head. */
    private Tensor splitHeads(Backend be, Tensor t, int b, int s, int d) {
        if (heads == 1) return t.reshape(b, 1, s, d);
        return be.transpose(t.reshape(b, s, heads, d), 1, 2);
    }
}
