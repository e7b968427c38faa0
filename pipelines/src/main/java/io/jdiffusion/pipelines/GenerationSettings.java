package io.jdiffusion.pipelines;

import java.util.List;
import java.util.Map;

/**
 * Every setting of a generation, as one immutable value: what the pipelines' fluent setters build,
 * what the generation record is made from and read back into ({@link GenerationRecord#settings()}),
 * and what the per-model denoising specs of base and refiner are derived from ({@link DenoisingSpec}).
 * Each part checks its own values when it is built, so a bad value is refused with a message naming
 * the parameter before any model work.
 *
 * <p>Null means "not set" where diffusers has no fixed default (the size follows the model or the
 * input image, the scheduler is the model's own, strength is the pipeline's).
 */
public record GenerationSettings(Prompts prompts, Guidance guidance, Schedule schedule, Size size, Mask mask,
                                 Refiner refiner, boolean outputLatents) {

    /** Prompts per text encoder; several prompts make a batch ({@code null}: as the first encoder's / none). */
    public record Prompts(List<String> prompt, List<String> prompt2, List<String> negativePrompt, List<String> negativePrompt2) {
        public Prompts {
            prompt = List.copyOf(prompt);
            prompt2 = prompt2 == null ? null : List.copyOf(prompt2);
            negativePrompt = negativePrompt == null ? null : List.copyOf(negativePrompt);
            negativePrompt2 = negativePrompt2 == null ? null : List.copyOf(negativePrompt2);
        }

        public Prompts withPrompt(List<String> p) { return new Prompts(p, prompt2, negativePrompt, negativePrompt2); }

        public Prompts withPrompt2(List<String> p) { return new Prompts(prompt, p, negativePrompt, negativePrompt2); }

        public Prompts withNegativePrompt(List<String> p) { return new Prompts(prompt, prompt2, p, negativePrompt2); }

        public Prompts withNegativePrompt2(List<String> p) { return new Prompts(prompt, prompt2, negativePrompt, p); }
    }

    /**
     * Classifier-free guidance and conditioning: scale (≤ 1 turns guidance off), guidance_rescale φ,
     * the refiner's aesthetic scores, and clip_skip (null: the usual penultimate layer).
     */
    public record Guidance(double scale, double rescale, double aestheticScore, double negativeAestheticScore, Integer clipSkip) {
        public Guidance {
            if (!(scale >= 0) || Double.isInfinite(scale)) throw new IllegalArgumentException("guidance must be a finite number >= 0, got " + scale);
            if (!(rescale >= 0 && rescale <= 1)) throw new IllegalArgumentException("guidanceRescale must be in [0, 1], got " + rescale);
            if (clipSkip != null && clipSkip < 0) throw new IllegalArgumentException("clipSkip must be >= 0, got " + clipSkip);
        }

        public Guidance withScale(double g) { return new Guidance(g, rescale, aestheticScore, negativeAestheticScore, clipSkip); }

        public Guidance withRescale(double phi) { return new Guidance(scale, phi, aestheticScore, negativeAestheticScore, clipSkip); }

        public Guidance withAestheticScores(double pos, double neg) { return new Guidance(scale, rescale, pos, neg, clipSkip); }

        public Guidance withClipSkip(Integer k) { return new Guidance(scale, rescale, aestheticScore, negativeAestheticScore, k); }
    }

    /**
     * The schedule: step count of the full schedule, seed, scheduler short name (null: the model's),
     * img2img/inpaint strength (null for text-to-image) and the denoising_start/end fractions.
     */
    public record Schedule(int steps, long seed, String scheduler, Double strength, Double denoisingStart, Double denoisingEnd) {
        public Schedule {
            Limits.steps(steps);
            if (scheduler != null) SchedulerNames.check(scheduler);
            if (strength != null) Validation.strength(strength);
            if (denoisingStart != null) Validation.openUnit("denoisingStart", denoisingStart);
            if (denoisingEnd != null) Validation.openUnit("denoisingEnd", denoisingEnd);
        }

        public Schedule withSteps(int n) { return new Schedule(n, seed, scheduler, strength, denoisingStart, denoisingEnd); }

        public Schedule withSeed(long s) { return new Schedule(steps, s, scheduler, strength, denoisingStart, denoisingEnd); }

        public Schedule withScheduler(String name) { return new Schedule(steps, seed, name, strength, denoisingStart, denoisingEnd); }

        public Schedule withStrength(Double s) { return new Schedule(steps, seed, scheduler, s, denoisingStart, denoisingEnd); }

        public Schedule withDenoisingStart(Double f) { return new Schedule(steps, seed, scheduler, strength, f, denoisingEnd); }

        public Schedule withDenoisingEnd(Double f) { return new Schedule(steps, seed, scheduler, strength, denoisingStart, f); }
    }

    /** Output size in pixels (null: the model's default or the input image's) and images per prompt. */
    public record Size(Integer width, Integer height, int imagesPerPrompt) {
        public Size {
            if ((width == null) != (height == null)) throw new IllegalArgumentException("width and height go together");
            if (width != null) {
                Limits.side("width", width, null);
                Limits.side("height", height, null);
            }
            Limits.imagesPerPrompt(imagesPerPrompt);
        }

        public Size withSize(int w, int h) { return new Size(w, h, imagesPerPrompt); }

        public Size withImagesPerPrompt(int n) { return new Size(width, height, n); }
    }

    /**
     * Inpainting's mask tools: cv2-style dilation (kernel, iterations), Gaussian blur radius,
     * padding_mask_crop and the outpainting canvas; null: not used.
     */
    public record Mask(Integer dilateKernel, Integer dilateIterations, Integer blur, Integer paddingMaskCrop,
                       GenerationRecord.Outpaint outpaint) {
        public Mask {
            if ((dilateKernel == null) != (dilateIterations == null)) throw new IllegalArgumentException("dilate needs a kernel and iterations");
            if (dilateKernel != null) Limits.dilate(dilateKernel, dilateIterations);
            if (blur != null && blur < 0) throw new IllegalArgumentException("blur radius must be >= 0, got " + blur);
            if (paddingMaskCrop != null && paddingMaskCrop < 0) {
                throw new IllegalArgumentException("paddingMaskCrop must be >= 0 pixels, got " + paddingMaskCrop);
            }
        }

        public static final Mask NONE = new Mask(null, null, null, null, null);

        public Mask withDilate(Integer kernel, Integer iterations) { return new Mask(kernel, iterations, blur, paddingMaskCrop, outpaint); }

        public Mask withBlur(Integer radius) { return new Mask(dilateKernel, dilateIterations, radius, paddingMaskCrop, outpaint); }

        public Mask withPaddingMaskCrop(Integer pad) { return new Mask(dilateKernel, dilateIterations, blur, pad, outpaint); }

        public Mask withOutpaint(GenerationRecord.Outpaint o) { return new Mask(dilateKernel, dilateIterations, blur, paddingMaskCrop, o); }
    }

    /** The base→refiner handoff: the base's share of the schedule (null: no handoff fraction set). */
    public record Refiner(Double highNoiseFraction) {
        public Refiner {
            if (highNoiseFraction != null) Validation.openUnit("highNoiseFraction", highNoiseFraction);
        }

        public Refiner withHighNoiseFraction(Double f) { return new Refiner(f); }
    }

    public GenerationSettings {
        java.util.Objects.requireNonNull(prompts, "prompts");
        java.util.Objects.requireNonNull(guidance, "guidance");
        java.util.Objects.requireNonNull(schedule, "schedule");
        java.util.Objects.requireNonNull(size, "size");
        java.util.Objects.requireNonNull(mask, "mask");
        java.util.Objects.requireNonNull(refiner, "refiner");
    }

    /** diffusers' defaults: empty prompt, 50 steps, seed 0, φ = 0, aesthetic scores 6 / 2.5. */
    public static GenerationSettings defaults(double guidanceScale, Double strength) {
        return new GenerationSettings(new Prompts(List.of(""), null, null, null), new Guidance(guidanceScale, 0, 6.0, 2.5, null),
                new Schedule(50, 0, null, strength, null, null), new Size(null, null, 1), Mask.NONE, new Refiner(null), false);
    }

    public GenerationSettings with(Prompts p) { return new GenerationSettings(p, guidance, schedule, size, mask, refiner, outputLatents); }

    public GenerationSettings with(Guidance g) { return new GenerationSettings(prompts, g, schedule, size, mask, refiner, outputLatents); }

    public GenerationSettings with(Schedule s) { return new GenerationSettings(prompts, guidance, s, size, mask, refiner, outputLatents); }

    public GenerationSettings with(Size s) { return new GenerationSettings(prompts, guidance, schedule, s, mask, refiner, outputLatents); }

    public GenerationSettings with(Mask m) { return new GenerationSettings(prompts, guidance, schedule, size, m, refiner, outputLatents); }

    public GenerationSettings with(Refiner r) { return new GenerationSettings(prompts, guidance, schedule, size, mask, r, outputLatents); }

    public GenerationSettings withOutputLatents(boolean b) { return new GenerationSettings(prompts, guidance, schedule, size, mask, refiner, b); }

    /**
     * Every setting by its path in this record ("schedule.steps", "mask.blur", "outputLatents"), in the
     * record's order; settings not set map to null. What the generation record stores of a setting
     * that has no field of its own, and what the run store lists.
     */
    public Map<String, Object> byPath() { return SettingPaths.values(this); }

    /**
     * These settings with the ones at the given paths replaced (values converted to the setting's type,
     * e.g. an Integer read from JSON for a {@code long}); each nested record is built once with all its
     * new values, so its checks see them together. An unknown path is refused, listing the known ones.
     */
    public GenerationSettings with(Map<String, ?> values) { return SettingPaths.with(this, values); }

    /** These settings with the one at {@code path} replaced ({@link #with(Map)}). */
    public GenerationSettings with(String path, Object value) { return with(java.util.Collections.singletonMap(path, value)); }

    /** Checks what involves several settings (each part has checked its own values). */
    void validate(boolean hasRefiner) {
        if (hasRefiner && refiner.highNoiseFraction() == null && schedule.denoisingEnd() == null) {
            throw new IllegalArgumentException("a refiner needs highNoiseFraction (the base's share of the schedule, e.g. 0.8)");
        }
        Double start = schedule.denoisingStart(), end = schedule.denoisingEnd();
        if (start != null && end != null && start >= end) {
            throw new IllegalArgumentException("denoisingStart (" + start + ") must be below denoisingEnd (" + end + ")");
        }
        int n = prompts.prompt().size();
        if (prompts.prompt2() != null && prompts.prompt2().size() != n) {
            throw new IllegalArgumentException("prompt2 has " + prompts.prompt2().size() + " entries, prompt has " + n);
        }
        if (prompts.negativePrompt() != null && prompts.negativePrompt().size() != n) {
            throw new IllegalArgumentException("negativePrompt has " + prompts.negativePrompt().size() + " entries, prompt has " + n);
        }
    }
}
