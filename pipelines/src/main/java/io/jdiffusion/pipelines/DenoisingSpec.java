package io.jdiffusion.pipelines;

import java.util.List;

/**
 * What one model's denoising run takes: the {@link GenerationSettings} plus what the pipeline worked
 * out for this model (size, strength, the part of the schedule it runs, its inputs). Pixel images are
 * NCHW floats in [-1, 1]; masks are binarized [B, 1, H, W] in {0, 1}; {@code imageLatents} replaces a
 * pixel image with 4-channel latents (the base→refiner handoff).
 *
 * @param height         image height in pixels (multiple of 8)
 * @param strength       img2img/inpaint strength in (0, 1]; ignored when denoisingStart is set
 * @param denoisingStart fraction of the schedule already done by another model, or null
 * @param denoisingEnd   fraction of the schedule to stop after (handoff producer), or null
 */
record DenoisingSpec(Kind kind, GenerationSettings settings, int height, int width, double strength,
                     Double denoisingStart, Double denoisingEnd, float[] image, float[] imageLatents, float[] mask,
                     boolean outputLatents) {

    enum Kind { TEXT_TO_IMAGE, IMAGE_TO_IMAGE, INPAINT }

    /**
     * The base model's run: with a refiner it stops at highNoiseFraction and hands latents over,
     * otherwise it runs to denoisingEnd (if set) and outputs what the settings ask for.
     */
    static DenoisingSpec base(Kind kind, GenerationSettings s, boolean refiner, int height, int width, double strength,
                              float[] image, float[] imageLatents, float[] mask) {
        Double start = kind == Kind.TEXT_TO_IMAGE ? null : s.schedule().denoisingStart();
        Double end = refiner ? s.refiner().highNoiseFraction() : s.schedule().denoisingEnd();
        return new DenoisingSpec(kind, s, height, width, strength, start, end, image, imageLatents, mask, refiner || s.outputLatents());
    }

    /**
     * The refiner's half of the handoff: an img2img (or inpaint, with the same mask) run from where
     * the base stopped to the end of the schedule; its latents come from {@link #withImageLatents}.
     */
    DenoisingSpec refinerHalf() {
        return switch (kind) {
            // diffusers' refiner is its img2img pipeline at its default strength (ignored: denoising_start decides)
            case TEXT_TO_IMAGE -> new DenoisingSpec(Kind.IMAGE_TO_IMAGE, settings, height, width, 0.3, denoisingEnd, null,
                    null, null, null, settings.outputLatents());
            case IMAGE_TO_IMAGE -> new DenoisingSpec(kind, settings, height, width, strength, denoisingEnd, null,
                    null, null, null, settings.outputLatents());
            case INPAINT -> new DenoisingSpec(kind, settings, height, width, strength, denoisingEnd, null,
                    null, null, mask, settings.outputLatents());
        };
    }

    /** This spec continuing from {@code latents} (the refiner half of a handoff). */
    DenoisingSpec withImageLatents(float[] latents) {
        return new DenoisingSpec(kind, settings, height, width, strength, denoisingStart, denoisingEnd, null, latents, mask, outputLatents);
    }

    List<String> prompt() { return settings.prompts().prompt(); }

    List<String> prompt2() { return settings.prompts().prompt2(); }

    List<String> negativePrompt() { return settings.prompts().negativePrompt(); }

    List<String> negativePrompt2() { return settings.prompts().negativePrompt2(); }

    int steps() { return settings.schedule().steps(); }

    double guidanceScale() { return settings.guidance().scale(); }

    double guidanceRescale() { return settings.guidance().rescale(); }

    double aestheticScore() { return settings.guidance().aestheticScore(); }

    double negativeAestheticScore() { return settings.guidance().negativeAestheticScore(); }

    Integer clipSkip() { return settings.guidance().clipSkip(); }

    int imagesPerPrompt() { return settings.size().imagesPerPrompt(); }

    int batch() { return prompt().size() * imagesPerPrompt(); }

    boolean guidance() { return guidanceScale() > 1.0; }
}
