package io.jdiffusion.cli;

import picocli.CommandLine.Option;

import java.lang.reflect.Field;
import java.util.Arrays;

/** Maps the {@link Setting} options of a command (or mixin) onto its pipeline's settings. */
final class SettingOptions {
    private SettingOptions() {}

    /**
     * Sets every {@link Setting} option of {@code options} that was given (not null) on the pipeline's
     * settings, in the order they are declared; a refused value is reported naming the option.
     */
    static void apply(Object options, io.jdiffusion.pipelines.GenerationPipeline<?> p) {
        for (Field f : options.getClass().getDeclaredFields()) {
            Setting setting = f.getAnnotation(Setting.class);
            if (setting == null) continue;
            Object value;
            try {
                value = f.get(options);
            } catch (IllegalAccessException e) {
                throw new IllegalStateException(e);
            }
            if (value != null) CommonOptions.option(name(f), () -> p.settings(p.settings().with(setting.value(), value)));
        }
    }

    /** The option's long name ("--steps"), as users wrote it. */
    private static String name(Field f) {
        String[] names = f.getAnnotation(Option.class).names();
        return Arrays.stream(names).filter(n -> n.startsWith("--")).findFirst().orElse(names[0]);
    }
}
