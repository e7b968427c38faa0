package io.jdiffusion.pipelines.lora;

import io.jdiffusion.pipelines.checkpoint.Component;
import io.jdiffusion.pipelines.checkpoint.LoraKeys;
import io.jdiffusion.tensor.weights.WeightSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The adapters a model runs with, each with its scale, fused into the weights as a component loads
 * ({@link #wrap}). Several adapters on one layer add up: W + Σ scale·(alpha/rank)·B·A.
 *
 * @param lenient skip (instead of refusing) LoRA tensors that match no module of the model
 */
public record LoraStack(List<Entry> entries, boolean lenient) {
    /** One adapter and its scale (diffusers' adapter weight, A1111's {@code <lora:name:scale>}). */
    public record Entry(LoraAdapter adapter, double scale) {}

    public static final LoraStack NONE = new LoraStack(List.of(), false);

    /** At most this many unmatched names are listed in an error. */
    static final int LISTED = 10;

    public LoraStack {
        entries = List.copyOf(entries);
    }

    public boolean isEmpty() { return entries.isEmpty(); }

    /** This stack with one more adapter. */
    public LoraStack plus(LoraAdapter adapter, double scale) {
        if (!Double.isFinite(scale)) throw new IllegalArgumentException("LoRA scale must be a finite number, got " + scale);
        List<Entry> e = new ArrayList<>(entries);
        e.add(new Entry(adapter, scale));
        return new LoraStack(e, lenient);
    }

    public LoraStack lenient(boolean b) { return new LoraStack(entries, b); }

    /**
     * Checks every adapter against the model's components ({@code sources}: the weights of each
     * component the model has; only names and shapes are looked at, no weight is read): a mis-shaped
     * layer is refused naming the key and both shapes; tensors matching no module are listed and
     * refused unless {@link #lenient}.
     */
    public void check(Map<Component, ? extends WeightSource> sources, int unetBlockStride) {
        for (Entry e : entries) {
            List<String> unmatched = new ArrayList<>(e.adapter().unrecognised());
            for (Component c : List.of(Component.UNET, Component.TEXT_ENCODER, Component.TEXT_ENCODER_2)) {
                List<LoraAdapter.Layer> layers = e.adapter().layers(c);
                if (layers.isEmpty()) continue;
                if (!sources.containsKey(c)) {
                    for (LoraAdapter.Layer l : layers) unmatched.add(l.downKey() + " (this model has no " + c.folder() + ")");
                    continue;
                }
                WeightSource src = sources.get(c);
                LoraKeys.ModuleIndex index = new LoraKeys.ModuleIndex(c, src.keys(), c == Component.UNET ? unetBlockStride : 0);
                for (LoraAdapter.Layer l : layers) {
                    String key = index.weightKey(l.name());
                    if (key == null) unmatched.add(l.downKey());
                    else checkShape(e.adapter(), l, key, src.shape(key));
                }
            }
            if (!unmatched.isEmpty() && !lenient) {
                List<String> shown = unmatched.subList(0, Math.min(LISTED, unmatched.size()));
                throw new IllegalArgumentException("LoRA " + e.adapter().path() + ": " + unmatched.size() + " tensor(s) match no module of this model"
                        + " (a LoRA for another model?): " + String.join(", ", shown)
                        + (unmatched.size() > LISTED ? " and " + (unmatched.size() - LISTED) + " more" : "")
                        + "; --lora-lenient (or lenient(true)) skips them");
            }
        }
    }

    /** {@code base} with this stack's layers for component {@code c} fused in (the base itself when none applies). */
    public WeightSource wrap(Component c, WeightSource base, int unetBlockStride) {
        Map<String, List<LoraWeights.Term>> terms = new LinkedHashMap<>();
        LoraKeys.ModuleIndex index = null;
        for (Entry e : entries) {
            for (LoraAdapter.Layer l : e.adapter().layers(c)) {
                if (index == null) index = new LoraKeys.ModuleIndex(c, base.keys(), c == Component.UNET ? unetBlockStride : 0);
                String key = index.weightKey(l.name());
                if (key == null) continue; // refused by check() unless lenient
                checkShape(e.adapter(), l, key, base.shape(key));
                terms.computeIfAbsent(key, k -> new ArrayList<>()).add(new LoraWeights.Term(e.adapter().name(), l, e.scale() * l.alphaScale()));
            }
        }
        return terms.isEmpty() ? base : new LoraWeights(base, terms);
    }

    /** W [out, in(, kh, kw)] against down [r, in(, kh, kw)] and up [out, r(, 1, 1)]. */
    static void checkShape(LoraAdapter a, LoraAdapter.Layer l, String key, int[] w) {
        int[] d = l.down().shape(), u = l.up().shape();
        boolean ok = w.length >= 2 && u[0] == w[0] && numel(u) == (long) u[0] * u[1] && numel(d) / d[0] == numel(w) / w[0]
                && (d.length != 4 || w.length != 4 || Arrays.equals(Arrays.copyOfRange(d, 1, 4), Arrays.copyOfRange(w, 1, 4)));
        if (!ok) {
            throw new IllegalArgumentException("LoRA " + a.path() + ": '" + l.downKey() + "' " + Arrays.toString(d) + " / '" + l.upKey() + "' "
                    + Arrays.toString(u) + " cannot adapt the model's '" + key + "' " + Arrays.toString(w)
                    + " (a LoRA for another model family or size?)");
        }
    }

    private static long numel(int[] s) {
        long n = 1;
        for (int x : s) n *= x;
        return n;
    }
}
