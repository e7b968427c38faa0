package io.jdiffusion.runs;

import io.jdiffusion.pipelines.GenerationRecord;
import io.jdiffusion.pipelines.GenerationSettings;
import org.junit.jupiter.api.Test;

import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The nested hyperparameters of a record, and their flattened keys, for hand-written records. */
class RunParamsTest {

    private static GenerationRecord record(String pipeline, Map<String, String> models, Double fraction, Integer dilateK,
                                           Integer dilateN, GenerationRecord.Outpaint outpaint) {
        return new GenerationRecord("jdiffusion", "1", pipeline, "p", null, "neg", null, 42L, 30, 7.0, 0.0, "ddim", 0.8,
                fraction, 64, 48, 2, dilateK, dilateN, null, null, outpaint, models, null, null, Map.of(), Map.of(), "cpu", null, null, null, null, null, null, null, null, null);
    }

    @Test
    void outpaintWithRefinerAndDilation() {
        Map<String, String> models = new LinkedHashMap<>();
        models.put("base", "B");
        models.put("refiner", "R");
        GenerationRecord r = record("outpaint", models, 0.75, 15, 2, new GenerationRecord.Outpaint(0, 8, 16, 0, 4));
        Map<String, Object> p = RunParams.of(r);
        assertEquals(List.of("pipeline", "model", "base", "refiner", "mask", "outpaint", "size", "seed"), List.copyOf(p.keySet()));
        Map<String, String> flat = RunParams.flatten(p);
        // integral doubles print without .0 (base.guidance = 7)
        assertShows(flat,
                "pipeline=outpaint", "model.family=sdxl", "base.model=B", "base.scheduler=ddim", "base.guidance=7",
                "base.strength=0.8", "base.denoisingEnd=0.75", "refiner.model=R", "refiner.denoisingStart=0.75",
                "refiner.steps=30", "mask.dilate.kernel=15", "mask.dilate.iterations=2", "mask.blur=off",
                "outpaint.right=16", "outpaint.overlap=4", "size.width=64", "size.imagesPerPrompt=2",
                "seed=42");
        assertEquals(Map.of("prompt", "p", "negativePrompt", "neg"), RunParams.prompts(r));
    }

    /** Each "key=value" is in the flattened parameters. */
    private static void assertShows(Map<String, String> flat, String... entries) {
        for (String e : entries) {
            String key = e.substring(0, e.indexOf('='));
            assertEquals(e.substring(e.indexOf('=') + 1), flat.get(key), key);
        }
    }

    @Test
    void txt2imgWithoutRefinerHasNoMaskAndRefinerOff() {
        GenerationRecord r = record("txt2img", Map.of("base", "B"), null, null, null, null);
        Map<String, String> flat = RunParams.flatten(RunParams.of(r));
        assertEquals("off", flat.get("refiner"));
        assertFalse(flat.containsKey("base.denoisingEnd"));
        assertFalse(flat.keySet().stream().anyMatch(k -> k.startsWith("mask")));
        // and the same numbers read back from JSON (integers may come back as another type) flatten the same
        assertEquals(flat, RunParams.flatten(RunStore.JSON.convertValue(RunParams.of(r), Map.class)));
    }

    // ---- every setting is a parameter ---------------------------------------------------------

    /** Settings with every optional value set, so that changing any one of them is a change of a value. */
    private static final GenerationSettings ALL_SET = GenerationSettings.defaults(7.0, 0.5).with(Map.ofEntries(
            Map.entry("prompts.prompt", List.of("p")), Map.entry("prompts.prompt2", List.of("p2")),
            Map.entry("prompts.negativePrompt", List.of("n")), Map.entry("prompts.negativePrompt2", List.of("n2")),
            Map.entry("guidance.rescale", 0.7), Map.entry("guidance.clipSkip", 1), Map.entry("schedule.steps", 30),
            Map.entry("schedule.seed", 42L), Map.entry("schedule.scheduler", "ddim"), Map.entry("schedule.denoisingStart", 0.1),
            Map.entry("schedule.denoisingEnd", 0.9), Map.entry("size.width", 64), Map.entry("size.height", 48),
            Map.entry("size.imagesPerPrompt", 2), Map.entry("mask.dilateKernel", 3), Map.entry("mask.dilateIterations", 1),
            Map.entry("mask.blur", 2), Map.entry("mask.paddingMaskCrop", 4),
            Map.entry("mask.outpaint", new GenerationRecord.Outpaint(0, 8, 16, 0, 4)), Map.entry("refiner.highNoiseFraction", 0.8)));

    @Test
    void everySettingShowsInTheParameters() {
        List<String> leaves = new ArrayList<>();
        collectLeaves(GenerationSettings.class, "", leaves);
        assertTrue(leaves.size() >= 25, "found " + leaves);
        assertEquals(leaves, List.copyOf(ALL_SET.byPath().keySet()), "byPath walks every setting");
        assertTrue(leaves.containsAll(RunParams.SHOWN), "RunParams.SHOWN names only settings: " + RunParams.SHOWN);
        for (String leaf : leaves) {
            // the refiner's fraction is recorded only when a refiner takes part; the user's denoisingEnd only without one
            boolean refiner = leaf.equals("refiner.highNoiseFraction");
            Map<String, String> before = shown(ALL_SET, refiner);
            GenerationSettings changed = changed(ALL_SET, leaf);
            assertNotEquals(before, shown(changed, refiner), "setting '" + leaf + "' does not show in RunParams");
            // and it comes back from the record's JSON (reproduce reads it from there)
            assertEquals(changed.byPath().get(leaf), record(changed, refiner).settings().byPath().get(leaf),
                    "setting '" + leaf + "' is not read back from the record");
        }
    }

    private static GenerationRecord record(GenerationSettings s, boolean refiner) {
        Map<String, String> models = new LinkedHashMap<>();
        models.put("base", "B");
        if (refiner) models.put("refiner", "R");
        GenerationRecord r = GenerationRecord.of("inpaint", s, s.schedule().scheduler(), s.size().width(), s.size().height(), refiner, true,
                new GenerationRecord.Provenance(models, null, null, Map.of(), Map.of(), "cpu", null));
        return GenerationRecord.fromJson(r.toJson());
    }

    private static Map<String, String> shown(GenerationSettings s, boolean refiner) {
        GenerationRecord r = record(s, refiner);
        Map<String, String> all = new LinkedHashMap<>(RunParams.flatten(RunParams.of(r)));
        RunParams.prompts(r).forEach((k, v) -> all.put("prompts." + k, v));
        return all;
    }

    private static void collectLeaves(Class<?> type, String prefix, List<String> out) {
        for (RecordComponent c : type.getRecordComponents()) {
            Class<?> t = c.getType();
            boolean settingsPart = t.isRecord() && t.getEnclosingClass() == GenerationSettings.class;
            if (settingsPart) collectLeaves(t, prefix + c.getName() + ".", out);
            else out.add(prefix + c.getName());
        }
    }

    /** {@code s} with the setting at {@code path} changed to another value its checks accept. */
    private static GenerationSettings changed(GenerationSettings s, String path) {
        Object v = s.byPath().get(path);
        for (Object other : others(v)) {
            if (other.equals(v)) continue;
            try {
                return s.with(path, other);
            } catch (IllegalArgumentException refused) {
                // not a value this setting accepts: try the next
            }
        }
        throw new AssertionError("no other value for setting '" + path + "' (" + v + "): extend others()");
    }

    /** Candidate values of the setting's kind (any kind for a setting that is not set). */
    private static List<Object> others(Object v) {
        return switch (v) {
            case null -> List.of(1, 8, 0.5, true, "ddim", List.of("other"));
            case Integer i -> List.of(i + 8, 1, 8);
            case Long l -> List.of(l + 1);
            case Double d -> List.of(d / 2, 0.5, 2.0);
            case Boolean b -> List.of(!b);
            case String str -> List.of("ddim", "euler_a");
            case List<?> l -> List.of(List.of("other"));
            case GenerationRecord.Outpaint o -> List.of(new GenerationRecord.Outpaint(1, 2, 3, 4, 5));
            default -> throw new AssertionError("no other value for a setting of type " + v.getClass() + ": extend the test");
        };
    }
}
