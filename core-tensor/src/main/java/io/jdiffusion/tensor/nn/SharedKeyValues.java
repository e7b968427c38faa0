package io.jdiffusion.tensor.nn;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.weights.Params;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The keys and values of every cross-attention layer of a model that reads one context (the
 * UNet's encoder states, the same for all its transformer blocks): their {@code to_k}/{@code to_v}
 * weights are stacked at load, one stack per (inner width, context width), and {@link #project}
 * computes all of them with one GEMM per stack at the start of a pass, instead of two GEMMs in
 * each block. Only for backends that {@link Backend#stacksWeights stack weights}; the model
 * {@link Params#attach attaches} one to its parameter tree before building its layers, and
 * {@link Attention#of} registers with it.
 */
public final class SharedKeyValues {
    private final Map<List<Integer>, Group> groups = new LinkedHashMap<>();
    private boolean loaded;

    /** The layers of one shape: k and v of layer i are rows 2i and 2i + 1 of the stack. */
    private static final class Group {
        final int inner, width;
        final List<Params> nodes = new ArrayList<>();
        Tensor stack, context, projected;

        Group(int inner, int width) {
            this.inner = inner;
            this.width = width;
        }
    }

    /** One layer's place in its group. */
    record Slot(SharedKeyValues owner, List<Integer> group, int index) {
        /** k and v [B, Sk, inner] of this layer for {@code context}: from the pass's projection, else computed for this layer alone. */
        Tensor[] keysValues(Backend be, Tensor context) {
            Group g = owner.groups.get(group);
            if (g.stack == null) throw new IllegalStateException("shared keys/values used before SharedKeyValues.load()");
            if (g.projected != null && g.context == context) return new Tensor[] {g.projected.get(2 * index), g.projected.get(2 * index + 1)};
            Tensor kv = be.linearStack(context, g.stack.slice(2 * index, 2 * index + 2));
            return new Tensor[] {kv.get(0), kv.get(1)};
        }
    }

    /** Registers a cross-attention layer ({@code attn} holds to_k and to_v of [inner, width]). */
    Slot add(Params attn, int inner, int width) {
        if (loaded) throw new IllegalStateException("SharedKeyValues already loaded: " + attn.key("to_k"));
        List<Integer> key = List.of(inner, width);
        Group g = groups.computeIfAbsent(key, k -> new Group(inner, width));
        g.nodes.add(attn.child("to_k"));
        g.nodes.add(attn.child("to_v"));
        return new Slot(this, key, g.nodes.size() / 2 - 1);
    }

    /** Loads every group's weights as one stack; call once, after the model's layers are built. */
    public void load() {
        loaded = true;
        for (Group g : groups.values()) g.stack = Params.stacked(g.nodes, "weight", g.inner, g.width);
    }

    /**
     * Projects {@code context} through every group, one GEMM each; the results belong to the
     * caller's open scope and serve the layers that read this same context until {@link #clear}.
     */
    public void project(Backend be, Tensor context) {
        for (Group g : groups.values()) {
            if (context.dim(-1) != g.width) continue;
            g.projected = be.linearStack(context, g.stack);
            g.context = context;
        }
    }

    /** Forgets the last projection (its scope is closing). */
    public void clear() {
        for (Group g : groups.values()) {
            g.projected = null;
            g.context = null;
        }
    }
}
