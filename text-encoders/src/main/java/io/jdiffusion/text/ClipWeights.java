package io.jdiffusion.text;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.weights.ModelFiles;
import io.jdiffusion.tensor.weights.Params;
import io.jdiffusion.tensor.weights.SafetensorsWeights;
import io.jdiffusion.tensor.weights.WeightSource;

import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * The weights of a {@code text_encoder*} folder: {@code model.safetensors}, the variant
 * {@code model.<variant>.safetensors} (diffusers' {@code variant="fp16"}), or their sharded forms
 * with a {@code .index.json}. Keys are renamed to the model's canonical names (transformers 4
 * wrote {@code text_model.}-prefixed CLIPTextModel files, transformers 5 drops the prefix), and
 * the {@code position_ids} buffer that older transformers versions saved is ignored, as
 * transformers itself does.
 */
final class ClipWeights implements WeightSource {
    private final SafetensorsWeights files;
    private final Set<String> keys;

    private ClipWeights(SafetensorsWeights files) {
        this.files = files;
        Set<String> k = new LinkedHashSet<>();
        for (String key : files.keys()) if (!key.endsWith("embeddings.position_ids")) k.add(key);
        this.keys = Set.copyOf(k);
    }

    /** Builds a text model of {@code folder}'s config.json over its weights; the model owns (and closes) the files. */
    interface Builder<M> {
        M build(CLIPTextConfig config, Params params, AutoCloseable weights);
    }

    /** The weights passed through {@code decorate} first (e.g. LoRA layers fused in); the model owns the result. */
    static <M> M load(Path folder, String variant, UnaryOperator<String> rename, String what, Backend backend, Builder<M> builder,
                      UnaryOperator<WeightSource> decorate) {
        CLIPTextConfig config = CLIPTextConfig.read(folder.resolve("config.json"));
        WeightSource w = decorate.apply(open(folder, variant, rename));
        try {
            Params p = Params.load(what + " " + folder, w, backend, null);
            M model = builder.build(config, p, w);
            p.finish();
            return model;
        } catch (RuntimeException e) {
            w.close();
            throw e;
        }
    }

    /**
     * Opens the weights of {@code folder} ({@link ModelFiles}: {@code model.safetensors}, its shards, or
     * the only variant present). A variant asked for must be there: diffusers loads a component's
     * variant or fails, it does not fall back to other weights.
     */
    static ClipWeights open(Path folder, String variant, UnaryOperator<String> rename) {
        if (variant != null && !variant.matches("[A-Za-z0-9_-]+")) throw new IllegalArgumentException("variant '" + variant + "' is not a plain name like fp16");
        ModelFiles.Found found = ModelFiles.find(folder, ModelFiles.TRANSFORMERS, variant);
        if (variant != null && !variant.equals(found.variant())) {
            throw new IllegalArgumentException("text encoder folder " + folder + " has no " + ModelFiles.TRANSFORMERS + "." + variant
                    + ".safetensors (nor " + ModelFiles.TRANSFORMERS + ".safetensors.index." + variant + ".json)");
        }
        return new ClipWeights(found.open(rename));
    }

    /** CLIPTextModel's names: transformers 5 form, no "text_model." prefix. */
    static String unprefixed(String key) {
        return key.startsWith("text_model.") ? key.substring("text_model.".length()) : key;
    }

    /** CLIPTextModelWithProjection's names: the tower under "text_model.", plus "text_projection.weight". */
    static String prefixed(String key) {
        return key.startsWith("text_model.") || key.startsWith("text_projection.") ? key : "text_model." + key;
    }

    @Override public Set<String> keys() { return keys; }

    @Override public int[] shape(String key) { return files.shape(key); }

    @Override public Tensor tensor(String key) { return files.tensor(key); }

    @Override public String origin(String key) { return files.origin(key); }

    @Override public void close() { files.close(); }
}
