package io.jdiffusion.text;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.weights.Params;

import java.nio.file.Path;
import java.util.List;

/**
 * transformers' CLIPTextModel (SDXL's {@code text_encoder}, CLIP ViT-L/14's text tower): parameters
 * at the state-dict root in transformers 5 form ({@code embeddings.*}, {@code encoder.layers.N.*},
 * {@code final_layer_norm.*}); files with transformers 4's {@code text_model.} prefix load too.
 */
public final class CLIPTextModel implements AutoCloseable {
    private final CLIPTextTransformer textModel;
    private final Backend backend;
    private final AutoCloseable weights;

    /** Builds the module tree on {@code params} (a loading or a shapes-only tree); call {@code params.finish()} after. */
    public CLIPTextModel(CLIPTextConfig config, Params params) { this(config, params, null); }

    private CLIPTextModel(CLIPTextConfig config, Params params, AutoCloseable weights) {
        this.textModel = new CLIPTextTransformer(config, params);
        this.backend = params.backend();
        this.weights = weights;
    }

    /** Loads {@code folder} (config.json + model[.fp16].safetensors) onto {@code backend}. */
    public static CLIPTextModel load(Path folder, Backend backend) { return load(folder, backend, null); }

    /** As {@link #load(Path, Backend)}, reading {@code model.<variant>.safetensors} when variant is not null. */
    public static CLIPTextModel load(Path folder, Backend backend, String variant) {
        return ClipWeights.load(folder, variant, ClipWeights::unprefixed, "CLIPTextModel", backend, CLIPTextModel::new);
    }

    /** As {@link #load(Path, Backend, String)}, the weights passed through {@code decorate} (e.g. LoRA layers fused in). */
    public static CLIPTextModel load(Path folder, Backend backend, String variant,
                             java.util.function.UnaryOperator<io.jdiffusion.tensor.weights.WeightSource> decorate) {
        return ClipWeights.load(folder, variant, ClipWeights::unprefixed, "CLIPTextModel", backend, CLIPTextModel::new, decorate);
    }

    /** The weights of {@code folder} under this model's parameter names, without building the model. */
    public static io.jdiffusion.tensor.weights.WeightSource openWeights(Path folder, String variant) {
        return ClipWeights.open(folder, variant, ClipWeights::unprefixed);
    }

    public CLIPTextConfig config() { return textModel.config(); }

    /**
     * Encodes a batch of equally long id rows. The output's textEmbeds is null; hiddenStates is
     * filled only when {@code outputHiddenStates}.
     */
    public CLIPTextOutput forward(int[][] inputIds, boolean outputHiddenStates) {
        if (backend == null) throw new IllegalStateException("this model was built without weights (shapes only)");
        try (Backend.Scope scope = backend.openScope()) {
            CLIPTextOutput o = textModel.forward(inputIds, outputHiddenStates);
            return keep(scope, o);
        }
    }

    /**
     * hidden_states[-(clipSkip + 1)] through final_layer_norm: diffusers' clip_skip for SD 1/2
     * ({@code clipSkip} 0 gives last_hidden_state), from one forward pass with hidden states.
     */
    public Tensor skippedLastHiddenState(int[][] inputIds, int clipSkip) {
        int layers = config().numHiddenLayers();
        if (clipSkip < 0 || clipSkip > layers) {
            throw new IllegalArgumentException("clip_skip must be in [0, " + layers + "] (the text encoder has " + layers + " layers), got " + clipSkip);
        }
        try (Backend.Scope scope = backend.openScope()) {
            Tensor h = textModel.forward(inputIds, true).hiddenState(-(clipSkip + 1));
            return scope.keep(textModel.finalLayerNorm(h));
        }
    }

    static CLIPTextOutput keep(Backend.Scope scope, CLIPTextOutput o) {
        List<Tensor> hidden = o.hiddenStates() == null ? null : o.hiddenStates().stream().map(scope::keep).toList();
        return new CLIPTextOutput(scope.keep(o.lastHiddenState()), scope.keep(o.pooledOutput()), hidden,
                o.textEmbeds() == null ? null : scope.keep(o.textEmbeds()));
    }

    @Override
    public void close() {
        if (weights != null) {
            try {
                weights.close();
            } catch (Exception e) {
                throw new IllegalStateException("closing the weights of " + this, e);
            }
        }
    }
}
