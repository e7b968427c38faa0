package io.jdiffusion.pipelines;

import java.util.List;

/**
 * What every pipeline takes, SDXL's ({@link SdxlPipeline}) and SD 1/2's ({@link SdPipeline}): all
 * settings as one {@link GenerationSettings} value, the fluent setters that update it, a device
 * budget, a step listener, and the run. The command line and reproduction work on this type, so an
 * SD 1/2 model goes wherever an SDXL one does.
 */
public interface GenerationPipeline<SELF extends GenerationPipeline<SELF>> extends AutoCloseable {

    /** The settings the next run uses. */
    GenerationSettings settings();

    /** All settings at once (e.g. those of a {@link GenerationRecord#settings() record}). */
    SELF settings(GenerationSettings s);

    /** Called after every step with that step's latents. */
    SELF onStep(StepListener l);

    /**
     * Limits the device memory of runs to {@code bytes} (0: no limit): the models' parts take turns
     * on the device and the VAE tiles when it must; see {@link DeviceBudget}.
     */
    SELF vram(long bytes);

    /** The budget runs use, or null (then each model keeps its components loaded). */
    DeviceBudget deviceBudget();

    /** Asks a running {@link #run()} to stop before its next step. */
    void cancel();

    /** Runs the pipeline; every setting is checked before any model work. */
    GenerationResult run();

    @Override
    void close();

    default SELF prompt(String... p) { return settings(settings().with(settings().prompts().withPrompt(List.of(p)))); }

    default SELF negativePrompt(String... p) { return settings(settings().with(settings().prompts().withNegativePrompt(List.of(p)))); }

    default SELF steps(int n) { return settings(settings().with(settings().schedule().withSteps(n))); }

    default SELF guidance(double g) { return settings(settings().with(settings().guidance().withScale(g))); }

    default SELF guidanceRescale(double phi) { return settings(settings().with(settings().guidance().withRescale(phi))); }

    default SELF seed(long s) { return settings(settings().with(settings().schedule().withSeed(s))); }

    default SELF imagesPerPrompt(int n) { return settings(settings().with(settings().size().withImagesPerPrompt(n))); }

    default SELF size(int w, int h) { return settings(settings().with(settings().size().withSize(w, h))); }

    /** One of {@link SchedulerNames#NAMES}; default (null): the model's own scheduler. */
    default SELF scheduler(String name) { return settings(settings().with(settings().schedule().withScheduler(name))); }

    default SELF outputLatents(boolean b) { return settings(settings().withOutputLatents(b)); }

    /** diffusers' clip_skip: the prompt embedding from that many layers before the text encoder's last. */
    default SELF clipSkip(int k) { return settings(settings().with(settings().guidance().withClipSkip(k))); }
}
