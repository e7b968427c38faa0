package io.jdiffusion.runs;

import io.jdiffusion.pipelines.GenerationResult;
import io.jdiffusion.pipelines.InpaintPipeline;
import io.jdiffusion.pipelines.SdxlModel;
import io.jdiffusion.pipelines.Version;
import io.jdiffusion.pipelines.image.Image;
import io.jdiffusion.pipelines.image.ImageFiles;
import io.jdiffusion.pipelines.image.PngText;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The acceptance sweep: 2 seeds × refiner on/off × dilation on/off on the fixture models records 8 complete runs. */
class SweepTest {

    @Test
    void sweepOfTwoSeedsRefinerAndDilationRecordsEightRuns() throws Exception {
        List<RunRecord> runs = TinySweep.runs();
        RunStore store = RunStore.open(TinySweep.store());
        assertEquals(8, runs.size());
        RunStore.Listing l = store.list();
        assertEquals(List.of(), l.problems());
        assertEquals(8, l.runs().size());
        assertEquals(runs.stream().map(RunRecord::id).sorted().toList(), l.runs().stream().map(RunStore.Entry::id).toList());
        assertEquals(8, Files.readAllLines(store.dir().resolve("index.jsonl")).size());

        Set<String> cells = new HashSet<>();
        for (RunRecord listed : runs) {
            RunRecord r = store.get(listed.id());
            assertEquals(RunStore.JSON.writeValueAsString(listed), RunStore.JSON.writeValueAsString(r), "run.json round trip of " + r.id());
            assertEquals(TinySweep.EXPERIMENT, r.experiment());
            assertEquals(TinySweep.TAGS, r.tags());
            Map<String, String> p = r.flatParams();
            boolean refiner = !"off".equals(p.get("refiner"));
            boolean dilated = p.containsKey("mask.dilate.kernel");
            cells.add(p.get("seed") + "/" + refiner + "/" + dilated);
            // nested parameters: pipeline → base / refiner → mask → seed
            assertEquals("inpaint", r.params().get("pipeline"));
            @SuppressWarnings("unchecked") Map<String, Object> base = (Map<String, Object>) r.params().get("base");
            assertEquals(TinySweep.base().toString(), base.get("model"));
            assertEquals(TinySweep.STEPS, base.get("steps"));
            assertEquals(7.5, ((Number) base.get("guidance")).doubleValue());
            if (refiner) {
                @SuppressWarnings("unchecked") Map<String, Object> ref = (Map<String, Object>) r.params().get("refiner");
                assertEquals(TinySweep.refiner().toString(), ref.get("model"));
                assertEquals(TinySweep.FRACTION, ((Number) ref.get("denoisingStart")).doubleValue());
                assertEquals(TinySweep.FRACTION, ((Number) base.get("denoisingEnd")).doubleValue());
            } else {
                assertEquals("off", r.params().get("refiner"));
                assertFalse(base.containsKey("denoisingEnd"));
            }
            @SuppressWarnings("unchecked") Map<String, Object> mask = (Map<String, Object>) r.params().get("mask");
            if (dilated) {
                assertEquals(Map.of("kernel", 3, "iterations", 1), mask.get("dilate"));
            } else {
                assertEquals("off", mask.get("dilate"));
            }
            assertEquals(Map.of("seed", p.get("seed"), "refiner", refiner ? "0.5" : "off", "dilate", dilated ? "3x1" : "off",
                    "guidance", "7.5", "scheduler", "default"), r.sweep().cell());
            assertEquals(TinySweep.PROMPT, r.prompts().get("prompt"));

            // inputs: byte copies of the fixture files, with their hashes
            for (var e : Map.of("image", TinySweep.image(), "mask", TinySweep.mask()).entrySet()) {
                RunRecord.StoredInput in = r.inputs().get(e.getKey());
                byte[] orig = Files.readAllBytes(e.getValue());
                assertArrayEquals(orig, Files.readAllBytes(store.file(r, in.file())), e.getKey() + " copy");
                assertEquals(sha256(orig), in.sha256());
                assertEquals(e.getValue().toString(), in.original());
                assertEquals(r.generation().inputs().get(e.getKey()).pixelSha256(), in.pixelSha256());
            }
            // outputs: a PNG carrying the generation record, hash as recorded
            assertEquals(1, r.outputs().size());
            Path png = store.file(r, r.outputs().getFirst().file());
            assertEquals(sha256(Files.readAllBytes(png)), r.outputs().getFirst().sha256());
            assertEquals(r.generation().toJson(), PngText.read(png).get("jdiffusion"));
            Image out = ImageFiles.read(png);
            assertEquals(r.generation().width(), out.width());
            assertEquals(r.outputs().getFirst().width(), out.width());

            // timings: one entry per step of the whole run (base + refiner), numbered in order
            List<StepTimings.Step> steps = r.timings().steps();
            assertFalse(steps.isEmpty());
            for (int i = 0; i < steps.size(); i++) {
                // numbered by the pipeline over base and refiner together: increasing, below the total
                assertTrue(i == 0 ? steps.get(i).index() >= 0 : steps.get(i).index() > steps.get(i - 1).index(), "step order " + steps);
                assertTrue(steps.get(i).index() < steps.get(i).total(), "step index below total " + steps);
                assertEquals(steps.getFirst().total(), steps.get(i).total()); // the listener's count, the same on every step
                assertTrue(steps.get(i).ms() >= 0);
            }
            assertTrue(steps.stream().mapToDouble(StepTimings.Step::ms).sum() <= r.timings().totalMs() + 1e-6);
            // diffusers' inpainting at strength 0.9999 runs int(steps * strength) of the steps
            if (!refiner) assertEquals((int) (TinySweep.STEPS * 0.9999), steps.size());

            // environment and weights
            assertEquals(TinySweep.backend().name(), r.environment().get("backend"));
            assertEquals(Version.VERSION, r.environment().get("version"));
            // per role, from the weight files themselves (the generation record merges base and refiner under one name)
            for (String role : refiner ? List.of("base", "refiner") : List.of("base")) {
                Path folder = role.equals("base") ? TinySweep.base() : TinySweep.refiner();
                for (String f : List.of("unet/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.safetensors",
                        "text_encoder_2/model.safetensors")) {
                    assertEquals(sha256(Files.readAllBytes(folder.resolve(f))).substring(0, 16), r.weightHashes().get(role + "/" + f), role + "/" + f);
                }
            }
            assertEquals(refiner, r.weightHashes().keySet().stream().anyMatch(k -> k.startsWith("refiner/")));
        }
        assertEquals(Set.of("1/false/false", "1/false/true", "1/true/false", "1/true/true",
                "2/false/false", "2/false/true", "2/true/false", "2/true/true"), cells);
        assertEquals(1, runs.stream().map(r -> r.sweep().id()).distinct().count());
        assertEquals(List.of(), store.verify());
    }

    /** Each axis changes the image: the stored outputs of neighbouring cells differ. */
    @Test
    void everyAxisChangesTheOutput() {
        List<RunRecord> runs = TinySweep.runs();
        Map<String, String> hashByCell = new java.util.HashMap<>();
        for (RunRecord r : runs) hashByCell.put(String.join("/", r.sweep().cell().values()), r.outputs().getFirst().sha256());
        assertNotEquals(hashByCell.get("1/off/off/7.5/default"), hashByCell.get("2/off/off/7.5/default"), "seed");
        assertNotEquals(hashByCell.get("1/off/off/7.5/default"), hashByCell.get("1/0.5/off/7.5/default"), "refiner");
        assertNotEquals(hashByCell.get("1/off/off/7.5/default"), hashByCell.get("1/off/3x1/7.5/default"), "dilation");
    }

    /** The stored output of a cell is what the pipeline gives for that cell's settings, run independently of the sweep. */
    @Test
    void storedOutputMatchesAnIndependentRunOfTheCell() {
        RunStore store = RunStore.open(TinySweep.store());
        RunRecord cell = TinySweep.runs().stream()
                .filter(r -> r.sweep().cell().equals(Map.of("seed", "2", "refiner", "0.5", "dilate", "3x1", "guidance", "7.5", "scheduler", "default")))
                .findFirst().orElseThrow();
        try (SdxlModel base = SdxlModel.load(TinySweep.base().toString(), null, TinySweep.backend());
             SdxlModel refiner = SdxlModel.load(TinySweep.refiner().toString(), null, TinySweep.backend())) {
            GenerationResult r = InpaintPipeline.of(base).image(ImageFiles.read(TinySweep.image())).mask(ImageFiles.read(TinySweep.mask()))
                    .dilate(3, 1).prompt(TinySweep.PROMPT).steps(TinySweep.STEPS).guidance(7.5).seed(2)
                    .refiner(refiner).highNoiseFraction(0.5).run();
            assertEquals(r.images().getFirst(), ImageFiles.read(store.file(cell, cell.outputs().getFirst().file())));
            assertEquals(r.record().weightHashes(), cell.generation().weightHashes());
        }
    }

    @Test
    void badSweepsAreRejectedNamingTheSetting() {
        try (SdxlModel base = SdxlModel.load(TinySweep.base().toString(), null, TinySweep.backend())) {
            RunStore store = RunStore.open(TinySweep.store());
            var e = assertThrows(IllegalArgumentException.class,
                    () -> Sweep.txt2img(base).refinerFractions(null, 0.8).run(store, "x", List.of()));
            assertTrue(e.getMessage().contains("refiner"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> Sweep.txt2img(base).dilations(new Sweep.Dilation(3, 1)).run(store, "x", List.of()));
            assertTrue(e.getMessage().contains("inpainting only"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> Sweep.Dilation.parse("3y1"));
            assertTrue(e.getMessage().contains("KxN"), e.getMessage());
            assertNull(Sweep.Dilation.parse("off"));
            assertEquals(new Sweep.Dilation(15, 2), Sweep.Dilation.parse("15x2"));
            e = assertThrows(IllegalArgumentException.class, () -> Sweep.inpaint(base, Path.of("no-such.png"), TinySweep.mask()));
            assertTrue(e.getMessage().contains("no-such.png"), e.getMessage());
            assertEquals(8, store.list().runs().size(), "a rejected sweep records nothing");
        }
    }

    static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }
}
