package io.jdiffusion.schedulers;

import java.nio.file.Path;

/** Builds schedulers by diffusers class name, e.g. from a model folder's {@code scheduler/} config. */
public final class Schedulers {
    private Schedulers() {}

    /** The diffusers class names accepted by {@link #create}. */
    public static final String[] CLASS_NAMES = {
            "EulerDiscreteScheduler", "EulerAncestralDiscreteScheduler", "DDIMScheduler", "DPMSolverMultistepScheduler", "PNDMScheduler"};

    /** The scheduler a model folder's {@code scheduler/scheduler_config.json} names in {@code _class_name}. */
    public static Scheduler fromPretrained(Path schedulerDir) {
        SchedulerConfig c = SchedulerConfig.readDir(schedulerDir);
        if (c.className() == null) {
            throw new IllegalArgumentException(schedulerDir.resolve("scheduler_config.json")
                    + " has no _class_name; allowed values: " + String.join(", ", CLASS_NAMES));
        }
        return create(c.className(), c);
    }

    /** Like diffusers' {@code <className>.from_config(config)}: keys the class does not use are ignored. */
    public static Scheduler create(String className, SchedulerConfig config) {
        return switch (SchedulerConfig.oneOf("_class_name", className, CLASS_NAMES)) {
            case "EulerDiscreteScheduler" -> new EulerDiscreteScheduler(config);
            case "EulerAncestralDiscreteScheduler" -> new EulerAncestralDiscreteScheduler(config);
            case "DDIMScheduler" -> new DDIMScheduler(config);
            case "PNDMScheduler" -> new PNDMScheduler(config);
            default -> new DPMSolverMultistepScheduler(config);
        };
    }
}
