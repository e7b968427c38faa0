package io.jdiffusion.pipelines.lora;

import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.weights.WeightSource;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A component's weights with LoRA layers fused in: the adapted keys are served as new F32 tensors
 * W + Σ factor·B·A (computed in F32; the backend converts them to its compute dtype on upload), every
 * other key is the base source's own tensor (for a mapped file: a view of the mapping, not a copy).
 * Unfusing is dropping this wrapper: {@link #base()} serves the stored weights, bit for bit.
 */
public final class LoraWeights implements WeightSource {
    /** One layer's contribution to a weight: factor = scale · alpha / rank. */
    public record Term(String adapter, LoraAdapter.Layer layer, double factor) {}

    private final WeightSource base;
    private final Map<String, List<Term>> terms;

    LoraWeights(WeightSource base, Map<String, List<Term>> terms) {
        this.base = base;
        this.terms = Map.copyOf(terms);
    }

    public WeightSource base() { return base; }

    /** The weight keys the adapters change, each with its layers. */
    public Map<String, List<Term>> terms() { return terms; }

    @Override public Set<String> keys() { return base.keys(); }

    @Override public int[] shape(String key) { return base.shape(key); }

    @Override
    public Tensor tensor(String key) {
        List<Term> t = terms.get(key);
        Tensor w = base.tensor(key);
        return t == null ? w : Tensor.of(fuse(w.toFloatArray(), t), w.shape());
    }

    @Override
    public String origin(String key) {
        List<Term> t = terms.get(key);
        return base.origin(key) + (t == null ? "" : " + LoRA " + t.stream().map(Term::adapter).distinct().toList());
    }

    @Override
    public void close() { base.close(); }

    /**
     * w (the weight, flattened [out, in·kh·kw]) += factor · B [out, r] · A [r, in·kh·kw] for every term,
     * in place; F32 arithmetic, B·A summed over r first as PEFT's fuse does (delta = B @ A, then scaled).
     */
    public static float[] fuse(float[] w, List<Term> terms) {
        for (Term t : terms) {
            float[] a = t.layer().down().floats(), b = t.layer().up().floats();
            int r = t.layer().rank(), out = t.layer().up().dim(0), cols = a.length / r;
            float f = (float) t.factor();
            for (int o = 0; o < out; o++) {
                for (int j = 0; j < cols; j++) {
                    float d = 0;
                    for (int k = 0; k < r; k++) d += b[o * r + k] * a[k * cols + j];
                    w[o * cols + j] += f * d;
                }
            }
        }
        return w;
    }
}
