package io.jdiffusion.pipelines;

import java.util.List;

/**
 * Everything one diffusers SDXL pipeline call takes, already validated. Pixel images are NCHW
 * floats in [-1, 1]; masks are binarized [B, 1, H, W] in {0, 1}; {@code imageLatents} replaces a
 * pixel image with 4-channel latents (the base→refiner handoff).
 *
 * @param height         image height in pixels (multiple of 8)
 * @param strength       img2img/inpaint strength in (0, 1]; ignored when denoisingStart is set
 * @param denoisingStart fraction of the schedule already done by another model, or null
 * @param denoisingEnd   fraction of the schedule to stop after (handoff producer), or null
 */
public record DenoisingSpec(
        Kind kind,
        List<String> prompt, List<String> prompt2, List<String> negativePrompt, List<String> negativePrompt2,
        int height, int width, int steps, double guidanceScale, double guidanceRescale,
        double strength, Double denoisingStart, Double denoisingEnd,
        int imagesPerPrompt, float[] image, float[] imageLatents, float[] mask,
        boolean outputLatents, double aestheticScore, double negativeAestheticScore, Integer clipSkip) {

    public enum Kind { TEXT_TO_IMAGE, IMAGE_TO_IMAGE, INPAINT }

    /** This spec continuing from {@code latents} (the refiner half of a handoff). */
    public DenoisingSpec withImageLatents(float[] latents) {
        return new DenoisingSpec(kind, prompt, prompt2, negativePrompt, negativePrompt2, height, width, steps, guidanceScale,
                guidanceRescale, strength, denoisingStart, denoisingEnd, imagesPerPrompt, null, latents, mask, outputLatents,
                aestheticScore, negativeAestheticScore, clipSkip);
    }

    public int batch() { return prompt.size() * imagesPerPrompt; }

    public boolean guidance() { return guidanceScale > 1.0; }
}
