package io.jdiffusion.text;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.weights.Params;
import io.jdiffusion.tensor.weights.WeightSource;

import java.nio.file.Path;
import java.util.function.UnaryOperator;

/**
 * transformers' CLIPTextModel (SDXL's {@code text_encoder}, CLIP ViT-L/14's text tower): parameters
 * at the state-dict root in transformers 5 form ({@code embeddings.*}, {@code encoder.layers.N.*},
 * {@code final_layer_norm.*}); files with transformers 4's {@code text_model.} prefix load too.
 */
public final class CLIPTextModel implements AutoCloseable {
    private final ClipTower tower;

    /** Builds the module tree on {@code params} (a loading or a shapes-only tree); call {@code params.finish()} after. */
    public CLIPTextModel(CLIPTextConfig config, Params params) { this(config, params, null); }

    private CLIPTextModel(CLIPTextConfig config, Params params, AutoCloseable weights) {
        this.tower = new ClipTower(new CLIPTextTransformer(config, params), params.backend(), weights);
    }

    /** Loads {@code folder} (config.json + model[.fp16].safetensors) onto {@code backend}. */
    public static CLIPTextModel load(Path folder, Backend backend) { return load(folder, backend, null); }

    /** As {@link #load(Path, Backend)}, reading {@code model.<variant>.safetensors} when variant is not null. */
    public static CLIPTextModel load(Path folder, Backend backend, String variant) {
        return load(folder, backend, variant, UnaryOperator.identity());
    }

    /** As {@link #load(Path, Backend, String)}, the weights passed through {@code decorate} (e.g. LoRA layers fused in). */
    public static CLIPTextModel load(Path folder, Backend backend, String variant, UnaryOperator<WeightSource> decorate) {
        return ClipWeights.load(folder, variant, ClipWeights::unprefixed, "CLIPTextModel", backend, CLIPTextModel::new, decorate);
    }

    /** The weights of {@code folder} under this model's parameter names, without building the model. */
    public static WeightSource openWeights(Path folder, String variant) { return ClipWeights.open(folder, variant, ClipWeights::unprefixed); }

    public CLIPTextConfig config() { return tower.model().config(); }

    /**
     * Encodes a batch of equally long id rows. The output's textEmbeds is null; hiddenStates is
     * filled only when {@code outputHiddenStates}.
     */
    public CLIPTextOutput forward(int[][] inputIds, boolean outputHiddenStates) {
        return tower.forward(inputIds, outputHiddenStates, UnaryOperator.identity());
    }

    /**
     * hidden_states[-(clipSkip + 1)] through final_layer_norm: diffusers' clip_skip for SD 1/2
     * ({@code clipSkip} 0 gives last_hidden_state), from one forward pass with hidden states.
     */
    public io.jdiffusion.tensor.Tensor skippedLastHiddenState(int[][] inputIds, int clipSkip) {
        int layers = config().numHiddenLayers();
        if (clipSkip < 0 || clipSkip > layers) {
            throw new IllegalArgumentException("clip_skip must be in [0, " + layers + "] (the text encoder has " + layers + " layers), got " + clipSkip);
        }
        CLIPTextTransformer m = tower.model();
        return tower.forward(inputIds, true,
                o -> new CLIPTextOutput(m.finalLayerNorm(o.hiddenState(-(clipSkip + 1))), o.pooledOutput(), null, null)).lastHiddenState();
    }

    @Override
    public void close() { tower.close(); }
}
