package io.jdiffusion.pipelines;

import java.util.function.BooleanSupplier;

/**
 * diffusers' StableDiffusionXLPipeline, and with a refiner the ensemble of experts: the base runs
 * the high-noise part (denoising_end = highNoiseFraction) and hands its latents to the refiner's
 * img2img pass (denoising_start = highNoiseFraction), both drawing from one generator.
 *
 * <pre>{@code
 * try (var pipe = Text2ImagePipeline.load("stabilityai/stable-diffusion-xl-base-1.0")) {
 *     GenerationResult r = pipe.prompt("a lighthouse at dusk").steps(30).seed(7).run();
 * }
 * }</pre>
 */
public final class Text2ImagePipeline extends SdxlPipeline<Text2ImagePipeline> {

    /** diffusers' default guidance_scale for this pipeline. */
    public static final double DEFAULT_GUIDANCE = 5.0;

    private Text2ImagePipeline(SdxlModel base, boolean owns) { super(base, owns, DEFAULT_GUIDANCE, null); }

    /** Loads the base model (folder, single file or Hugging Face id); closed with the pipeline. */
    public static Text2ImagePipeline load(String base) { return new Text2ImagePipeline(SdxlModel.load(base), true); }

    /** Uses an already loaded model (not closed by the pipeline). */
    public static Text2ImagePipeline of(SdxlModel base) { return new Text2ImagePipeline(base, false); }

    @Override
    protected GenerationResult execute(BooleanSupplier cancelled) {
        GenerationSettings.Size size = settings.size();
        int w = size.width() != null ? size.width() : base.defaultImageSize();
        int h = size.height() != null ? size.height() : base.defaultImageSize();
        checkOutput(w, h, size.width() != null ? null : "the model's default size");
        DenoisingSpec spec = DenoisingSpec.base(DenoisingSpec.Kind.TEXT_TO_IMAGE, settings, refiner != null, h, w, 1.0, null, null, null);
        DenoisingLoop.Output out = runWithRefiner(spec, generator(), cancelled);
        return Runs.result(out, record("txt2img", w, h, null));
    }

    GenerationRecord record(String kind, int w, int h, Double strength) {
        return Runs.record(this, kind, w, h, strength, null, null, null, null);
    }
}
