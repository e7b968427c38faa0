package io.jdiffusion.pipelines;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GenerationRecordTest {
    static GenerationRecord sample() {
        return new GenerationRecord("jdiffusion", "1.2.3", "inpaint", "a red vase, glazed", null, "blurry", null,
                42, 70, 7.5, 0.0, "EulerDiscreteScheduler", 0.9999, 0.8, 1024, 768, 1, 15, 2, null, 32,
                null, Map.of("base", "stabilityai/stable-diffusion-xl-base-1.0"), null, null,
                Map.of("base/unet/diffusion_pytorch_model.fp16.safetensors", "0123456789abcdef"),
                Map.of("image", new GenerationRecord.InputFile("/photos/p.png", "ff00")), "cpu", null, 6.0, 2.5, null, null, null, null, null, null);
    }

    @Test
    void jsonRoundTripsEveryField() {
        GenerationRecord r = sample();
        assertEquals(r, GenerationRecord.fromJson(r.toJson()));
    }

    /** A record as jdiffusion wrote it before the settings record (no denoisingStart/End, outputLatents keys). */
    private static final String OLD_JSON = "{\"library\":\"jdiffusion\",\"version\":\"" + Version.VERSION + "\",\"pipeline\":\"inpaint\","
            + "\"prompt\":\"a | b\",\"negativePrompt\":\"blurry | \",\"seed\":42,\"steps\":6,\"guidanceScale\":7.5,"
            + "\"guidanceRescale\":0.0,\"scheduler\":\"EulerDiscreteScheduler\",\"strength\":0.9999,\"highNoiseFraction\":0.8,"
            + "\"width\":64,\"height\":48,\"imagesPerPrompt\":1,\"maskDilateKernel\":15,\"maskDilateIterations\":2,"
            + "\"models\":{\"base\":\"b\",\"refiner\":\"r\"},\"weightHashes\":{},\"inputs\":{},\"backend\":\"cpu\","
            + "\"aestheticScore\":6.0,\"negativeAestheticScore\":2.5}";

    @Test
    void oldRecordsLoadAndWriteTheSameJsonAndTheirSettingsReadBack() {
        GenerationRecord r = GenerationRecord.fromJson(OLD_JSON);
        assertEquals(OLD_JSON, r.toJson(), "a record without the later settings writes the same bytes");
        GenerationSettings s = r.settings();
        assertEquals(java.util.List.of("a", "b"), s.prompts().prompt());
        assertEquals(java.util.List.of("blurry", ""), s.prompts().negativePrompt());
        assertEquals(null, s.schedule().scheduler(), "a scheduler class name is the model's own scheduler");
        assertEquals(0.8, s.refiner().highNoiseFraction());
        assertEquals(15, s.mask().dilateKernel());
        // made again from its settings, the record is the same
        GenerationRecord again = GenerationRecord.of(r.pipeline(), s, r.scheduler(), r.width(), r.height(), true, true,
                new GenerationRecord.Provenance(r.models(), r.configs(), r.unet(), r.weightHashes(), r.inputs(), r.backend(), r.loras()));
        assertEquals(r, again);
    }

    @Test
    void parametersLineCarriesTheSettingsInA1111Form() {
        String p = sample().toParameters();
        String[] lines = p.split("\n");
        assertEquals("a red vase, glazed", lines[0]);
        assertEquals("Negative prompt: blurry", lines[1]);
        // A1111's sampler name and model keys; no refiner model, so no Refiner keys (A1111 would turn its refiner on)
        assertTrue(lines[2].startsWith("Steps: 70, Sampler: Euler, CFG scale: 7.5, Seed: 42, Size: 1024x768, "
                + "Model hash: 0123456789, Model: stable-diffusion-xl-base-1.0, "
                + "Denoising strength: 0.9999, Mask dilation: \"15x15 kernel, 2 iterations\""), lines[2]);
        assertTrue(lines[2].contains("Model base: stabilityai/stable-diffusion-xl-base-1.0"), lines[2]);
        assertTrue(lines[2].endsWith("Version: jdiffusion 1.2.3"), lines[2]);
    }

    @Test
    void somethingElseIsRefusedClearly() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GenerationRecord.fromJson("[1, 2]"));
        assertTrue(e.getMessage().contains("not a jdiffusion generation record"), e.getMessage());
    }

    @Test
    void settingsByPathRoundTripConvertAndRefuseUnknownPaths() {
        GenerationSettings s = sample().settings();
        assertEquals(s, GenerationSettings.defaults(1, null).with(s.byPath()), "every setting by its path rebuilds the same settings");
        // values as JSON reads them: an Integer for the long seed, a Double for a Double
        GenerationSettings t = s.with(Map.of("schedule.seed", 7, "mask.blur", 3, "guidance.rescale", 0.25));
        assertEquals(7L, t.schedule().seed());
        assertEquals(3, t.mask().blur());
        assertEquals(0.25, t.guidance().rescale());
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> s.with("mask.blur", -1));
        assertTrue(bad.getMessage().contains("blur radius must be >= 0"), bad.getMessage());
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class, () -> s.with("schedule.nope", 1));
        assertTrue(none.getMessage().contains("no setting 'schedule.nope'") && none.getMessage().contains("schedule.steps"), none.getMessage());
        // a record from a later version with a setting this one does not know is refused by name, not half-reproduced
        String json = sample().toJson();
        GenerationRecord later = GenerationRecord.fromJson(json.substring(0, json.length() - 1) + ",\"extraSettings\":{\"schedule.nope\":1}}");
        assertEquals(Map.of("schedule.nope", 1), later.extraSettings());
        assertTrue(assertThrows(IllegalArgumentException.class, later::settings).getMessage().contains("schedule.nope"));
        assertEquals(json, GenerationRecord.fromJson(json).toJson(), "no extraSettings key when there are none");
    }

    /** The family: left out for SDXL (so SDXL records keep their bytes), kept for SD 1/2, checked on reading. */
    @Test
    void familyIsLeftOutForSdxlKeptForSdAndChecked() {
        GenerationRecord sdxl = sample();
        assertTrue(!sdxl.toJson().contains("family"), sdxl.toJson());
        assertEquals(GenerationRecord.FAMILY_SDXL, sdxl.modelFamily());
        GenerationRecord sd2 = GenerationRecord.fromJson(sdxl.toJson().replaceFirst("\\{", "{\"family\":\"sd2\","));
        assertEquals("sd2", sd2.family());
        assertEquals("sd2", GenerationRecordCheck.check(sd2).modelFamily());
        assertEquals(sd2, GenerationRecord.fromJson(sd2.toJson()));
        assertEquals("sd2", sd2.withInputs(Map.of()).family(), "withInputs keeps the family");
        GenerationRecord sd3 = GenerationRecord.fromJson(sdxl.toJson().replaceFirst("\\{", "{\"family\":\"sd3\","));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GenerationRecordCheck.check(sd3));
        assertTrue(e.getMessage().contains("family must be one of sdxl, sd1, sd2, got 'sd3'"), e.getMessage());
    }
}
