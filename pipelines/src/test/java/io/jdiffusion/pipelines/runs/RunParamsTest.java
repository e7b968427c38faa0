package io.jdiffusion.pipelines.runs;

import io.jdiffusion.pipelines.GenerationRecord;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/** The nested hyperparameters of a record, and their flattened keys, for hand-written records. */
class RunParamsTest {

    private static GenerationRecord record(String pipeline, Map<String, String> models, Double fraction, Integer dilateK,
                                           Integer dilateN, GenerationRecord.Outpaint outpaint) {
        return new GenerationRecord("jdiffusion", "1", pipeline, "p", null, "neg", null, 42L, 30, 7.0, 0.0, "ddim", 0.8,
                fraction, 64, 48, 2, dilateK, dilateN, null, null, outpaint, models, null, null, Map.of(), Map.of(), "cpu", null, null, null, null);
    }

    @Test
    void outpaintWithRefinerAndDilation() {
        Map<String, String> models = new LinkedHashMap<>();
        models.put("base", "B");
        models.put("refiner", "R");
        GenerationRecord r = record("outpaint", models, 0.75, 15, 2, new GenerationRecord.Outpaint(0, 8, 16, 0, 4));
        Map<String, Object> p = RunParams.of(r);
        assertEquals(List.of("pipeline", "base", "refiner", "mask", "outpaint", "size", "seed"), List.copyOf(p.keySet()));
        Map<String, String> flat = RunParams.flatten(p);
        assertEquals("outpaint", flat.get("pipeline"));
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
}
