package io.jdiffusion.tensor.nn;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.weights.Params;

import java.util.List;

/**
 * The multi-head attention of every model here, as diffusers' {@code Attention} with
 * {@code AttnProcessor2_0} runs it: query/key/value projections, {@code heads} heads of
 * {@code dim_head} each, {@code softmax(q kᵀ / √dim_head [+ causal mask]) v} per head, the heads
 * merged and an output projection. The three models differ only in parameter names, biases and
 * what surrounds the core, so each gets a factory that keeps its own weight keys:
 * <ul>
 *   <li>{@link #of}: the UNet's BasicTransformerBlock ({@code to_q}, {@code to_k}, {@code to_v},
 *       {@code to_out.0}); keys/values from a context for cross-attention;</li>
 *   <li>{@link #vaeMidBlock}: the VAE mid block's (the converted LDM {@code AttnBlock}): a
 *       {@code group_norm} in front, biased projections, input [B, C, H, W] attended over its
 *       pixels (token = row·W + col), the input added back (residual_connection);</li>
 *   <li>{@link #clip}: transformers' {@code CLIPAttention} ({@code q_proj}, {@code k_proj},
 *       {@code v_proj}, {@code out_proj}, all biased) with CLIP's causal mask.</li>
 * </ul>
 */
public final class Attention {
    /**
     * The query, key, value and output projections, built by each form's factory in its model's
     * registration order; where the backend {@link Backend#stacksWeights stacks weights}, also the
     * stacks that let one GEMM compute the projections of one input: {@code qkv} [3, inner, dim]
     * (q, k and v of self-attention; null otherwise) and {@code kv} [2, inner, context dim] (k and v).
     */
    private record Projections(Linear q, Linear k, Linear v, Linear out, Tensor qkv, Tensor kv, SharedKeyValues.Slot shared) {
        Projections(Linear q, Linear k, Linear v, Linear out) { this(q, k, v, out, null, null, null); }
    }

    /** Null except in the VAE's form. */
    private final GroupNorm groupNorm;
    private final Projections proj;
    private final int heads, dimHead;
    private final boolean causal, residualConnection;
    private final Backend be;

    private Attention(Params p, GroupNorm groupNorm, Projections proj, int heads, boolean causal, boolean residualConnection) {
        this.be = p.backend();
        this.groupNorm = groupNorm;
        this.proj = proj;
        this.heads = heads;
        this.dimHead = proj.q().out() / heads;
        this.causal = causal;
        this.residualConnection = residualConnection;
    }

    /**
     * diffusers' {@code Attention(query_dim, cross_attention_dim, heads, dim_head, bias)} as
     * BasicTransformerBlock builds it: q/k/v with {@code bias} (attention_bias), {@code to_out.0}
     * always biased; self-attention when {@code crossAttentionDim == queryDim} and no context is given.
     */
    public static Attention of(Params p, int queryDim, int crossAttentionDim, int heads, int dimHead, boolean bias) {
        int inner = heads * dimHead;
        Backend be = p.backend();
        if (be != null && be.stacksWeights() && !bias) return stackedOf(p, be, queryDim, crossAttentionDim, heads, inner);
        Linear q = new Linear(p.child("to_q"), queryDim, inner, bias);
        Linear k = new Linear(p.child("to_k"), crossAttentionDim, inner, bias);
        Linear v = new Linear(p.child("to_v"), crossAttentionDim, inner, bias);
        Linear out = new Linear(p.child("to_out").child(0), inner, queryDim, true);
        return new Attention(p, null, new Projections(q, k, v, out), heads, false, false);
    }

    /** {@link #of} with stacked projections (unbiased q/k/v): q, k, v in one stack when they read inputs of one width, else k and v. */
    private static Attention stackedOf(Params p, Backend be, int queryDim, int crossAttentionDim, int heads, int inner) {
        SharedKeyValues shared = p.attached(SharedKeyValues.class);
        if (crossAttentionDim != queryDim && shared != null) {
            // k and v of the model's common context: stacked with every other layer's, projected once per pass
            Linear q = new Linear(p.child("to_q"), queryDim, inner, false);
            SharedKeyValues.Slot slot = shared.add(p, inner, crossAttentionDim);
            Linear out = new Linear(p.child("to_out").child(0), inner, queryDim, true);
            return new Attention(p, null, new Projections(q, null, null, out, null, null, slot), heads, false, false);
        }
        Tensor qkv = null, kv;
        Linear q;
        if (crossAttentionDim == queryDim) {
            qkv = Params.stacked(List.of(p.child("to_q"), p.child("to_k"), p.child("to_v")), "weight", inner, queryDim);
            q = new Linear(be, qkv.get(0), null);
            kv = qkv.slice(1, 3);
        } else {
            q = new Linear(p.child("to_q"), queryDim, inner, false);
            kv = Params.stacked(List.of(p.child("to_k"), p.child("to_v")), "weight", inner, crossAttentionDim);
        }
        Linear out = new Linear(p.child("to_out").child(0), inner, queryDim, true);
        Projections proj = new Projections(q, new Linear(be, kv.get(0), null), new Linear(be, kv.get(1), null), out, qkv, kv, null);
        return new Attention(p, null, proj, heads, false, false);
    }

    /**
     * The VAE mid block's spatial self-attention: {@code group_norm} (groups, eps), biased
     * projections, heads of {@code headDim} (the mid block passes attention_head_dim = channels:
     * one head as wide as the block, softmax scale 1/√C), rescale factor 1.
     */
    public static Attention vaeMidBlock(Params p, int channels, int headDim, int groups, float eps) {
        if (headDim <= 0 || channels % headDim != 0) {
            throw new IllegalArgumentException(p.key("to_q") + ": " + channels + " channels do not split into heads of " + headDim);
        }
        GroupNorm norm = new GroupNorm(p.child("group_norm"), groups, channels, eps);
        Linear q = new Linear(p.child("to_q"), channels, channels, true);
        Linear k = new Linear(p.child("to_k"), channels, channels, true);
        Linear v = new Linear(p.child("to_v"), channels, channels, true);
        Linear out = new Linear(p.child("to_out").child(0), channels, channels, true);
        return new Attention(p, norm, new Projections(q, k, v, out), channels / headDim, false, true);
    }

    /** transformers' {@code CLIPAttention}: {@code dim} wide, {@code heads} heads, biased projections, causal. */
    public static Attention clip(Params p, int dim, int heads) {
        // transformers' registration order: k, v, q, out (as in the official state dict).
        Linear k = new Linear(p.child("k_proj"), dim, dim, true);
        Linear v = new Linear(p.child("v_proj"), dim, dim, true);
        Linear q = new Linear(p.child("q_proj"), dim, dim, true);
        Linear out = new Linear(p.child("out_proj"), dim, dim, true);
        return new Attention(p, null, new Projections(q, k, v, out), heads, true, false);
    }

    /** Self-attention: x [B, S, C] → [B, S, C], or x [B, C, H, W] over its pixels → [B, C, H, W]. */
    public Tensor forward(Tensor x) { return forward(x, null); }

    /** x [B, S, query_dim]; keys and values from {@code context} [B, Sk, cross_attention_dim], or from x when null. */
    public Tensor forward(Tensor x, Tensor context) { return forward(x, context, null); }

    /**
     * {@link #forward(Tensor, Tensor)} plus {@code residual} (of the output's shape; null for none),
     * added in the output projection's GEMM where the backend can: a transformer block's {@code attn(norm(y)) + y}.
     */
    public Tensor forward(Tensor x, Tensor context, Tensor residual) {
        if (x.rank() == 4) {
            if (context != null || residual != null) throw new IllegalArgumentException("attention over an image [B, C, H, W] takes no context or residual");
            return forwardSpatial(x);
        }
        Tensor q, k, v;
        if (proj.qkv() != null && context == null) {
            Tensor qkv = be.linearStack(x, proj.qkv());                          // [3, B, S, inner]
            q = qkv.get(0);
            k = qkv.get(1);
            v = qkv.get(2);
        } else {
            Tensor kvIn = context == null ? x : context;
            q = proj.q().forward(x);
            if (proj.shared() != null) {
                Tensor[] kv = proj.shared().keysValues(be, kvIn);
                k = kv[0];
                v = kv[1];
            } else if (proj.kv() != null) {
                Tensor kv = be.linearStack(kvIn, proj.kv());                     // [2, B, Sk, inner]
                k = kv.get(0);
                v = kv.get(1);
            } else {
                k = proj.k().forward(kvIn);
                v = proj.v().forward(kvIn);
            }
        }
        Tensor a = attend(q, k, v);
        Tensor o = residual == null ? proj.out().forward(a) : proj.out().forwardAdd(a, residual);
        return residualConnection ? be.add(o, x) : o;
    }

    /** [B, C, H, W]: (group_norm and) view as tokens [B, H·W, C], attend, view back, add the input when residual. */
    private Tensor forwardSpatial(Tensor x) {
        int b = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3), s = h * w;
        Tensor normed = groupNorm == null ? x : groupNorm.forward(x);
        Tensor tokens = be.transpose(normed.reshape(b, c, s), 1, 2);                     // [B, S, C]
        Tensor o = proj.out().forward(attend(proj.q().forward(tokens), proj.k().forward(tokens), proj.v().forward(tokens)));
        Tensor spatial = be.transpose(o, 1, 2).reshape(b, c, h, w);
        return residualConnection ? be.add(spatial, x) : spatial;
    }

    /** Projected q [B, S, H·D], k and v [B, Sk, H·D] → the merged heads' output [B, S, H·D]. */
    private Tensor attend(Tensor q, Tensor k, Tensor v) {
        int b = q.dim(0), s = q.dim(1);
        // [B, S, H·D] in and out: CUDA's tensor-core kernel reads the heads in place (no permutes),
        // other backends split and merge them; causal (CLIP) and single-head (VAE) forms keep the [B, H, S, D] call
        if (!causal && heads > 1) return be.attentionHeads(q, k, v, heads);
        Tensor o = be.attention(splitHeads(q), splitHeads(k), splitHeads(v), causal);   // [B, H, S, D]
        return heads == 1 ? o.reshape(b, s, dimHead) : be.permute(o, 0, 2, 1, 3).reshape(b, s, heads * dimHead);
    }

    /** [B, S, H·D] → [B, H, S, D]; a free view for one head. */
    private Tensor splitHeads(Tensor t) {
        int b = t.dim(0), s = t.dim(1);
        if (heads == 1) return t.reshape(b, 1, s, dimHead);
        return be.permute(t.reshape(b, s, heads, dimHead), 0, 2, 1, 3);
    }
}
