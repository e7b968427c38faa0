package io.jdiffusion.runs;

import io.jdiffusion.pipelines.GenerationRecord;
import io.jdiffusion.pipelines.GenerationSettings;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The hyperparameters of a generation as a tree, in the order a user thinks of them:
 * pipeline → model family (model.family: sdxl, sd1, sd2) → base / refiner (model, scheduler, steps, guidance, their share of the schedule) →
 * mask (dilation kernel and iterations, blur) → seed. Flattened to dotted keys for listing,
 * filtering and diffing ("base.guidance", "mask.dilate.kernel", "refiner" = "off").
 * Every {@link io.jdiffusion.pipelines.GenerationSettings setting} shows here (RunParamsTest checks
 * it by reflection over the settings record); settings that are not set are left out.
 */
public final class RunParams {
    private RunParams() {}

    /** A model's LoRA adapters as "name:scale (first 12 hex of SHA-256)", comma-separated; null when it has none. */
    static String loras(GenerationRecord r, String role) {
        if (r.loras() == null) return null;
        List<String> l = r.loras().stream().filter(u -> u.role().equals(role))
                .map(u -> u.name() + ":" + u.scale() + " (" + u.sha256().substring(0, 12) + ")").toList();
        return l.isEmpty() ? null : String.join(", ", l);
    }

    /** The nested parameters of a record. */
    public static Map<String, Object> of(GenerationRecord r) {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("pipeline", r.pipeline());
        p.put("model", new LinkedHashMap<>(Map.of("family", r.modelFamily())));   // "sdxl" for records from before SD 1/2 ran
        Map<String, Object> base = new LinkedHashMap<>();
        base.put("model", r.models() == null ? null : r.models().get("base"));
        if (r.unet() != null) base.put("unet", r.unet());
        base.put("scheduler", r.scheduler());
        base.put("steps", r.steps());
        base.put("guidance", r.guidanceScale());
        base.put("guidanceRescale", r.guidanceRescale());
        if (r.strength() != null) base.put("strength", r.strength());
        if (r.denoisingStart() != null) base.put("denoisingStart", r.denoisingStart());
        String refinerModel = r.models() == null ? null : r.models().get("refiner");
        if (refinerModel != null) base.put("denoisingEnd", r.highNoiseFraction());
        else if (r.denoisingEnd() != null) base.put("denoisingEnd", r.denoisingEnd());
        if (loras(r, "base") != null) base.put("lora", loras(r, "base"));
        p.put("base", base);
        if (refinerModel != null) {
            Map<String, Object> ref = new LinkedHashMap<>();
            ref.put("model", refinerModel);
            ref.put("scheduler", r.scheduler());
            ref.put("steps", r.steps());
            ref.put("guidance", r.guidanceScale());
            ref.put("denoisingStart", r.highNoiseFraction());
            if (loras(r, "refiner") != null) ref.put("lora", loras(r, "refiner"));
            p.put("refiner", ref);
        } else {
            p.put("refiner", "off");
        }
        if (r.pipeline() != null && (r.pipeline().equals("inpaint") || r.pipeline().equals("outpaint"))) {
            Map<String, Object> mask = new LinkedHashMap<>();
            if (r.maskDilateKernel() != null) {
                Map<String, Object> d = new LinkedHashMap<>();
                d.put("kernel", r.maskDilateKernel());
                d.put("iterations", r.maskDilateIterations());
                mask.put("dilate", d);
            } else {
                mask.put("dilate", "off");
            }
            mask.put("blur", r.maskBlur() == null ? "off" : r.maskBlur());
            if (r.paddingMaskCrop() != null) mask.put("paddingMaskCrop", r.paddingMaskCrop());
            p.put("mask", mask);
        }
        if (r.outpaint() != null) {
            GenerationRecord.Outpaint o = r.outpaint();
            p.put("outpaint", new LinkedHashMap<>(Map.of("left", o.left(), "top", o.top(), "right", o.right(),
                    "bottom", o.bottom(), "overlap", o.overlap())));
        }
        Map<String, Object> size = new LinkedHashMap<>();
        size.put("width", r.width());
        size.put("height", r.height());
        size.put("imagesPerPrompt", r.imagesPerPrompt());
        p.put("size", size);
        if (r.clipSkip() != null) p.put("clipSkip", r.clipSkip());
        if (r.aestheticScore() != null) {
            p.put("aestheticScore", r.aestheticScore());
            p.put("negativeAestheticScore", r.negativeAestheticScore());
        }
        if (Boolean.TRUE.equals(r.outputLatents())) p.put("outputLatents", true);
        p.put("seed", r.seed());
        Map<String, Object> more = new LinkedHashMap<>();
        GenerationSettings settings;
        try {
            settings = r.settings();
        } catch (IllegalArgumentException e) {
            settings = null; // a record with values no pipeline accepts: the tree above is all there is
        }
        // any other setting that is set, under its path: a setting added to the record shows here without a change to this class
        if (settings != null) settings.byPath().forEach((path, v) -> {
            if (v != null && !SHOWN.contains(path)) more.put(path, v);
        });
        if (!more.isEmpty()) p.put("settings", more);
        return p;
    }

    /** The settings the tree above shows under names of its own (base.guidance, mask.dilate.kernel, …): the record's named ones. */
    static final Set<String> SHOWN = GenerationRecord.NAMED_SETTINGS;

    /** The prompts of a record (only those given). */
    public static Map<String, String> prompts(GenerationRecord r) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("prompt", r.prompt());
        if (r.prompt2() != null) m.put("prompt2", r.prompt2());
        if (r.negativePrompt() != null) m.put("negativePrompt", r.negativePrompt());
        if (r.negativePrompt2() != null) m.put("negativePrompt2", r.negativePrompt2());
        return m;
    }

    /** Dotted keys → values as text; a leaf that is text ("off") stays a key of its own. */
    public static Map<String, String> flatten(Map<String, Object> nested) {
        return flatten(nested, Set.of());
    }

    /**
     * {@link #flatten(Map)}, where each key of {@code switches} that holds a group ("refiner" with
     * its model, steps, …) also reads "on" before its children, as it reads "off" when it has none.
     */
    public static Map<String, String> flatten(Map<String, Object> nested, Set<String> switches) {
        Map<String, String> out = new LinkedHashMap<>();
        if (nested != null) flatten("", nested, switches, out);
        return out;
    }

    private static void flatten(String prefix, Map<?, ?> m, Set<String> switches, Map<String, String> out) {
        for (Map.Entry<?, ?> e : m.entrySet()) {
            String key = prefix.isEmpty() ? String.valueOf(e.getKey()) : prefix + "." + e.getKey();
            Object v = e.getValue();
            if (v instanceof Map<?, ?> && switches.contains(key)) out.put(key, "on");
            if (v instanceof Map<?, ?> sub) flatten(key, sub, switches, out);
            else if (v instanceof List<?> l) out.put(key, String.join(", ", l.stream().map(RunParams::text).toList()));
            else out.put(key, text(v));
        }
    }

    /** A value as text: integers without ".0", so that 7 and 7.0 compare equal after a JSON round trip. */
    static String text(Object v) {
        if (v == null) return "";
        if (v instanceof Double || v instanceof Float) {
            double d = ((Number) v).doubleValue();
            if (d == Math.rint(d) && !Double.isInfinite(d) && Math.abs(d) < 1e15) return Long.toString((long) d);
            return Double.toString(d);
        }
        return v.toString();
    }
}
