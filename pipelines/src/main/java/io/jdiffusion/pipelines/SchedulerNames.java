package io.jdiffusion.pipelines;

import io.jdiffusion.schedulers.Scheduler;
import io.jdiffusion.schedulers.SchedulerConfig;
import io.jdiffusion.schedulers.Schedulers;

import java.util.List;
import java.util.Map;

/** The short scheduler names of the API and command line, mapped to diffusers classes and config overrides. */
final class SchedulerNames {
    private SchedulerNames() {}

    public static final List<String> NAMES = List.of("euler", "euler_a", "ddim", "dpmpp_2m", "dpmpp_2m_karras", "pndm");

    public static boolean isName(String s) { return NAMES.contains(s); }

    public static void check(String s) {
        if (!isName(s)) throw new IllegalArgumentException("unknown scheduler '" + s + "'; choose one of " + String.join(", ", NAMES));
    }

    /** The scheduler for a short name (null: the model's own class) from the model's config values. */
    static Scheduler create(String shortName, SchedulerConfig config) {
        if (shortName == null) return Schedulers.create(config.className() == null ? "EulerDiscreteScheduler" : config.className(), config);
        check(shortName);
        return switch (shortName) {
            case "euler" -> Schedulers.create("EulerDiscreteScheduler", config);
            case "euler_a" -> Schedulers.create("EulerAncestralDiscreteScheduler", config);
            case "ddim" -> Schedulers.create("DDIMScheduler", config);
            case "pndm" -> Schedulers.create("PNDMScheduler", config);
            case "dpmpp_2m" -> Schedulers.create("DPMSolverMultistepScheduler", config.with("use_karras_sigmas", false));
            default -> Schedulers.create("DPMSolverMultistepScheduler", config.with(Map.of("use_karras_sigmas", true)));
        };
    }
}
