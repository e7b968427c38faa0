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
                fraction, 64, 48, 2, dilateK, dilateN, null, null, outpaint, models, null, null, Map.of(), Map.of(), "cpu", null, null, null, null, null, null, null, null);
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
        assertEquals("outpaint", flat.get("pipeline"));
        assertEquals("sdxl", flat.get("model.family"), "a record without a family is an SDXL run's");
        assertEquals("B", flat.get("base.model"));
        assertEquals("ddim", flat.get("base.scheduler"));
        assertEquals("7", flat.get("base.guidance"), "integral doubles print without .0");
        assertEquals("0.8", flat.get("base.strength"));
        assertEquals("0.75", flat.get("base.denoisingEnd"));
        assertEquals("R", flat.get("refiner.model"));
        assertEquals("0.75", flat.get("refiner.denoisingStart"));
        assertEquals("30", flat.get("refiner.steps"));
        assertEquals("15", flat.get("mask.dilate.kernel"));
        assertEquals("2", flat.get("mask.dilate.iterations"));
        assertEquals("off", flat.get("mask.blur"));
        assertEquals("16", flat.get("outpaint.right"));
        assertEquals("4", flat.get("outpaint.overlap"));
        assertEquals("64", flat.get("size.width"));
        assertEquals("2", flat.get("size.imagesPerPrompt"));
        assertEquals("42", flat.get("seed"));
        assertEquals(Map.of("prompt", "p", "negativePrompt", "neg"), RunParams.prompts(r));
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
    private static final GenerationSettings ALL_SET = new GenerationSettings(
            new GenerationSettings.Prompts(List.of("p"), List.of("p2"), List.of("n"), List.of("n2")),
            new GenerationSettings.Guidance(7.0, 0.7, 6.0, 2.5, 1),
            new GenerationSettings.Schedule(30, 42, "ddim", 0.5, 0.1, 0.9),
            new GenerationSettings.Size(64, 48, 2),
            new GenerationSettings.Mask(3, 1, 2, 4, new GenerationRecord.Outpaint(0, 8, 16, 0, 4)),
            new GenerationSettings.Refiner(0.8), false);

    @Test
    void everySettingShowsInTheParameters() throws Exception {
        List<String> leaves = new ArrayList<>();
        collectLeaves(GenerationSettings.class, "", leaves);
        assertTrue(leaves.size() >= 25, "found " + leaves);
        assertTrue(leaves.containsAll(RunParams.SHOWN), "RunParams.SHOWN names only settings: " + RunParams.SHOWN);
        for (String leaf : leaves) {
            // the refiner's fraction is recorded only when a refiner takes part; the user's denoisingEnd only without one
            boolean refiner = leaf.equals("refiner.highNoiseFraction");
            Map<String, String> before = shown(ALL_SET, refiner);
            Object changed = replaced(ALL_SET, leaf.split("\\."), 0);
            assertNotEquals(before, shown((GenerationSettings) changed, refiner), "setting '" + leaf + "' does not show in RunParams");
        }
    }

    private static Map<String, String> shown(GenerationSettings s, boolean refiner) {
        Map<String, String> models = new LinkedHashMap<>();
        models.put("base", "B");
        if (refiner) models.put("refiner", "R");
        GenerationRecord r = GenerationRecord.of("inpaint", s, s.schedule().scheduler(), s.size().width(), s.size().height(), refiner, true,
                new GenerationRecord.Provenance(models, null, null, Map.of(), Map.of(), "cpu", null));
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

    /** {@code record} with the leaf at {@code path} changed to another valid value. */
    private static Object replaced(Object record, String[] path, int depth) throws Exception {
        RecordComponent[] cs = record.getClass().getRecordComponents();
        Object[] args = new Object[cs.length];
        Class<?>[] types = new Class<?>[cs.length];
        for (int i = 0; i < cs.length; i++) {
            types[i] = cs[i].getType();
            Object v = cs[i].getAccessor().invoke(record);
            if (cs[i].getName().equals(path[depth])) v = depth == path.length - 1 ? another(v) : replaced(v, path, depth + 1);
            args[i] = v;
        }
        var ctor = record.getClass().getDeclaredConstructor(types);
        return ctor.newInstance(args);
    }

    private static Object another(Object v) {
        return switch (v) {
            case Integer i -> i + 8;
            case Long l -> l + 1;
            case Double d -> d / 2;
            case Boolean b -> !b;
            case String str -> str.equals("ddim") ? "euler_a" : "ddim";
            case List<?> l -> List.of("other");
            case GenerationRecord.Outpaint o -> new GenerationRecord.Outpaint(1, 2, 3, 4, 5);
            default -> throw new AssertionError("no other value for a setting of type " + v.getClass() + ": extend the test");
        };
    }
}
