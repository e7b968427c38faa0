package io.jdiffusion.runs;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The values `runs list` shows in its columns, by column name, computed from a run's flattened
 * parameters: the same text the user reads is what {@code --where} matches ({@link RunFilter}).
 *
 * <ul>
 *   <li>{@code refiner}: "off", or the fraction of the schedule the base runs before the refiner takes over ("0.8")</li>
 *   <li>{@code dilate} (also {@code mask.dilate}): "off", or kernel x iterations ("15x2"); "-" without a mask</li>
 *   <li>{@code guidance}, {@code steps}, {@code scheduler}, {@code model}: the base model's</li>
 *   <li>{@code seed}, {@code pipeline}, {@code experiment}</li>
 *   <li>{@code psnr}, {@code ssim}, {@code seam}: the run's {@link InpaintMetrics} (rounded as printed), "-" when not measured</li>
 *   <li>{@code starred} ("1" or "0") and {@code note} ("-" when none): the user's {@link RunNotes}</li>
 * </ul>
 */
public final class RunColumns {
    private RunColumns() {}

    /** Column names, and the other names each answers to in --where. */
    public static final Map<String, List<String>> ALIASES = Map.of(
            "dilate", List.of("mask.dilate"),
            "guidance", List.of("base.guidance"),
            "steps", List.of("base.steps"),
            "scheduler", List.of("base.scheduler"),
            "model", List.of("base.model"),
            "psnr", List.of("metrics.psnrUnmasked"),
            "ssim", List.of("metrics.ssimUnmasked"),
            "seam", List.of("metrics.seam"));

    /** Column name → value for one run (every column; "-" where the run has no such value). */
    public static Map<String, String> of(RunStore.Entry e) {
        Map<String, String> p = e.params() == null ? Map.of() : e.params();
        Map<String, String> c = new LinkedHashMap<>();
        c.put("experiment", e.experiment() == null ? "-" : e.experiment());
        c.put("pipeline", e.pipeline() == null ? p.getOrDefault("pipeline", "-") : e.pipeline());
        c.put("seed", p.getOrDefault("seed", "-"));
        c.put("refiner", "off".equals(p.get("refiner")) ? "off" : p.getOrDefault("refiner.denoisingStart", "?"));
        c.put("dilate", p.containsKey("mask.dilate.kernel") ? p.get("mask.dilate.kernel") + "x" + p.get("mask.dilate.iterations")
                : p.getOrDefault("mask.dilate", "-"));
        c.put("guidance", p.getOrDefault("base.guidance", "-"));
        c.put("steps", p.getOrDefault("base.steps", "-"));
        c.put("scheduler", p.getOrDefault("base.scheduler", "-"));
        c.put("model", p.getOrDefault("base.model", "-"));
        Map<String, Double> m = e.metrics() == null ? Map.of() : e.metrics();
        c.put("psnr", metric(m.get("psnrUnmasked"), "%.2f"));
        c.put("ssim", metric(m.get("ssimUnmasked"), "%.4f"));
        c.put("seam", metric(m.get("seam"), "%.3f"));
        RunNotes n = e.notesOrNone();
        c.put("starred", n.starred() ? "1" : "0");
        c.put("note", n.note().isEmpty() ? "-" : n.note());
        return c;
    }

    /** A measure as the list prints it (and --where compares it, as a number). */
    public static String metric(Double v, String format) {
        return v == null ? "-" : String.format(java.util.Locale.ROOT, format, v);
    }
}
