package io.jdiffusion.cli;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks an option that sets one {@link io.jdiffusion.pipelines.GenerationSettings setting}, named by its
 * path ({@code "schedule.steps"}); {@link SettingOptions#apply} maps every such option onto the pipeline's
 * settings, so a new option for a new setting is this one annotated field.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.FIELD)
@interface Setting {
    /** The setting's path in {@link io.jdiffusion.pipelines.GenerationSettings#byPath()}. */
    String value();
}
