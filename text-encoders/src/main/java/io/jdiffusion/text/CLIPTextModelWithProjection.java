package io.jdiffusion.text;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.weights.Params;

import java.nio.file.Path;

/**
 * transformers' CLIPTextModelWithProjection (SDXL's {@code text_encoder_2}, OpenCLIP bigG): the
 * tower under {@code text_model.} plus a bias-free {@code text_projection} [projection_dim, hidden]
 * applied to the pooled vector (spec §2.2 step 6). Files without the {@code text_model.} prefix
 * load too.
 */
public final class CLIPTextModelWithProjection implements AutoCloseable {
    private final CLIPTextTransformer textModel;
    private final Tensor textProjection;
    private final Backend backend;
    private final AutoCloseable weights;

    /** Builds the module tree on {@code params} (a loading or a shapes-only tree); call {@code params.finish()} after. */
    public CLIPTextModelWithProjection(CLIPTextConfig config, Params params) { this(config, params, null); }

    private CLIPTextModelWithProjection(CLIPTextConfig config, Params params, AutoCloseable weights) {
        this.textModel = new CLIPTextTransformer(config, params.child("text_model"));
        this.textProjection = params.child("text_projection").get("weight", config.projectionDim(), config.hiddenSize());
        this.backend = params.backend();
        this.weights = weights;
    }

    public static CLIPTextModelWithProjection load(Path folder, Backend backend) { return load(folder, backend, null); }

    /** Loads {@code folder} (config.json + model[.variant].safetensors) onto {@code backend}. */
    public static CLIPTextModelWithProjection load(Path folder, Backend backend, String variant) {
        return ClipWeights.load(folder, variant, ClipWeights::prefixed, "CLIPTextModelWithProjection", backend,
                CLIPTextModelWithProjection::new);
    }

    /** As {@link #load(Path, Backend, String)}, the weights passed through {@code decorate} (e.g. LoRA layers fused in). */
    public static CLIPTextModelWithProjection load(Path folder, Backend backend, String variant,
                             java.util.function.UnaryOperator<io.jdiffusion.tensor.weights.WeightSource> decorate) {
        return ClipWeights.load(folder, variant, ClipWeights::prefixed, "CLIPTextModelWithProjection", backend, CLIPTextModelWithProjection::new, decorate);
    }

    /** The weights of {@code folder} under this model's parameter names, without building the model. */
    public static io.jdiffusion.tensor.weights.WeightSource openWeights(Path folder, String variant) {
        return ClipWeights.open(folder, variant, ClipWeights::prefixed);
    }

    public CLIPTextConfig config() { return textModel.config(); }

    /** Encodes a batch of equally long id rows; textEmbeds = pooledOutput · text_projectionᵀ. */
    public CLIPTextOutput forward(int[][] inputIds, boolean outputHiddenStates) {
        if (backend == null) throw new IllegalStateException("this model was built without weights (shapes only)");
        try (Backend.Scope scope = backend.openScope()) {
            CLIPTextOutput o = textModel.forward(inputIds, outputHiddenStates);
            Tensor embeds = backend.linear(o.pooledOutput(), textProjection, null);
            return CLIPTextModel.keep(scope, new CLIPTextOutput(o.lastHiddenState(), o.pooledOutput(), o.hiddenStates(), embeds));
        }
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
