package io.jdiffusion.text;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.weights.Params;
import io.jdiffusion.tensor.weights.WeightSource;

import java.nio.file.Path;
import java.util.function.UnaryOperator;

/**
 * transformers' CLIPTextModelWithProjection (SDXL's {@code text_encoder_2}, OpenCLIP bigG): the
 * tower under {@code text_model.} plus a bias-free {@code text_projection} [projection_dim, hidden]
 * applied to the pooled vector (spec §2.2 step 6). Files without the {@code text_model.} prefix
 * load too.
 */
public final class CLIPTextModelWithProjection implements AutoCloseable {
    private final ClipTower tower;
    private final Tensor textProjection;

    /** Builds the module tree on {@code params} (a loading or a shapes-only tree); call {@code params.finish()} after. */
    public CLIPTextModelWithProjection(CLIPTextConfig config, Params params) { this(config, params, null); }

    private CLIPTextModelWithProjection(CLIPTextConfig config, Params params, AutoCloseable weights) {
        this.tower = new ClipTower(new CLIPTextTransformer(config, params.child("text_model")), params.backend(), weights);
        this.textProjection = params.child("text_projection").get("weight", config.projectionDim(), config.hiddenSize());
    }

    public static CLIPTextModelWithProjection load(Path folder, Backend backend) { return load(folder, backend, null); }

    /** Loads {@code folder} (config.json + model[.variant].safetensors) onto {@code backend}. */
    public static CLIPTextModelWithProjection load(Path folder, Backend backend, String variant) {
        return load(folder, backend, variant, UnaryOperator.identity());
    }

    /** As {@link #load(Path, Backend, String)}, the weights passed through {@code decorate} (e.g. LoRA layers fused in). */
    public static CLIPTextModelWithProjection load(Path folder, Backend backend, String variant, UnaryOperator<WeightSource> decorate) {
        return ClipWeights.load(folder, variant, ClipWeights::prefixed, "CLIPTextModelWithProjection", backend,
                CLIPTextModelWithProjection::new, decorate);
    }

    /** The weights of {@code folder} under this model's parameter names, without building the model. */
    public static WeightSource openWeights(Path folder, String variant) { return ClipWeights.open(folder, variant, ClipWeights::prefixed); }

    public CLIPTextConfig config() { return tower.model().config(); }

    /** Encodes a batch of equally long id rows; textEmbeds = pooledOutput · text_projectionᵀ. */
    public CLIPTextOutput forward(int[][] inputIds, boolean outputHiddenStates) {
        return tower.forward(inputIds, outputHiddenStates, o -> new CLIPTextOutput(o.lastHiddenState(), o.pooledOutput(),
                o.hiddenStates(), tower.backend().linear(o.pooledOutput(), textProjection, null)));
    }

    @Override
    public void close() { tower.close(); }
}
