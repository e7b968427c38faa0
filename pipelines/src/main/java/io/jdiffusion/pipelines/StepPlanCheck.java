package io.jdiffusion.pipelines;

import java.util.ArrayList;
import java.util.List;

/**
 * Refuses settings that leave a model no denoising step (few steps with a low strength, a
 * high-noise fraction so close to 1 that the refiner's share rounds to nothing, a denoising start
 * past the end, …) before any weight is read, naming the settings that decide it with their values.
 * The step counts come from the schedulers' timestep plans, which need only the scheduler configs.
 */
final class StepPlanCheck {
    private StepPlanCheck() {}

    /**
     * @param baseSteps    steps the base will run
     * @param refinerSteps steps the refiner will run, or null without a refiner
     */
    static void check(DenoisingSpec base, int baseSteps, Integer refinerSteps) {
        String who = baseSteps < 1 ? "the base model" : refinerSteps != null && refinerSteps < 1 ? "the refiner" : null;
        if (who == null) return;
        throw new IllegalArgumentException(String.join(", ", given(base, refinerSteps != null)) + " leave no denoising step for "
                + who + " (the base would run " + baseSteps + (refinerSteps == null ? "" : ", the refiner " + refinerSteps)
                + " of the schedule's steps); raise steps" + (base.kind() == DenoisingSpec.Kind.TEXT_TO_IMAGE ? "" : " or strength")
                + (refinerSteps == null ? "" : ", or change the high-noise fraction"));
    }

    /** The settings that decide the step counts, as "name value" (the defaults said to be defaults). */
    private static List<String> given(DenoisingSpec spec, boolean refiner) {
        GenerationSettings s = spec.settings();
        List<String> out = new ArrayList<>();
        out.add("steps " + spec.settings().schedule().steps());
        if (spec.kind() != DenoisingSpec.Kind.TEXT_TO_IMAGE) out.add("strength " + spec.strength());
        if (refiner) out.add("high-noise fraction " + s.refiner().highNoiseFraction());
        if (spec.denoisingStart() != null) out.add("denoising start " + spec.denoisingStart());
        if (!refiner && spec.denoisingEnd() != null) out.add("denoising end " + spec.denoisingEnd());
        if (s.schedule().scheduler() != null) out.add("scheduler " + s.schedule().scheduler());
        return out;
    }
}
