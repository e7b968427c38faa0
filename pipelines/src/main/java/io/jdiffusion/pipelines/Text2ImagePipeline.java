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

    private Text2ImagePipeline(SdxlModel base, boolean owns) { super(base, owns, 5.0); }

    /** Loads the base model (folder, single file or Hugging Face id); closed with the pipeline. */
    public static Text2ImagePipeline load(String base) { return new Text2ImagePipeline(SdxlModel.load(base), true); }

    /** Uses an already loaded model (not closed by the pipeline). */
    public static Text2ImagePipeline of(SdxlModel base) { return new Text2ImagePipeline(base, false); }

    @Override
    protected GenerationResult execute(BooleanSupplier cancelled) {
        int w = width != null ? width : base.defaultImageSize();
        int h = height != null ? height : base.defaultImageSize();
        checkOutput(w, h, width != null ? null : "the model's default size");
        io.jdiffusion.tensor.random.TorchGenerator gen = generator();
        Double end = refiner != null ? highNoiseFraction : denoisingEnd;
        DenoisingSpec baseSpec = new DenoisingSpec(DenoisingSpec.Kind.TEXT_TO_IMAGE, prompt, prompt2, negativePrompt,
                negativePrompt2, h, w, steps, guidance, guidanceRescale, 1.0, null, end, imagesPerPrompt,
                null, null, null, refiner != null || outputLatents, aestheticScore, negativeAestheticScore, clipSkip);
        DenoisingSpec refSpec = null;
        if (refiner != null) {
            refSpec = new DenoisingSpec(DenoisingSpec.Kind.IMAGE_TO_IMAGE, prompt, prompt2, negativePrompt,
                    negativePrompt2, h, w, steps, guidance, guidanceRescale, 0.3, end, null, imagesPerPrompt,
                    null, null, null, outputLatents, aestheticScore, negativeAestheticScore, clipSkip);
        }
        Sampler.Output out = runWithRefiner(baseSpec, refSpec, gen, cancelled);
        return Runs.result(out, record("txt2img", w, h, null));
    }

    GenerationRecord record(String kind, int w, int h, Double strength) {
        return Runs.record(this, kind, w, h, strength, null, null, null, null, null);
    }
}
