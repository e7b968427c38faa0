package io.jdiffusion.cli;

import io.jdiffusion.pipelines.image.Image;
import io.jdiffusion.pipelines.image.ImageFiles;
import io.jdiffusion.runs.RunRecord;
import io.jdiffusion.runs.RunStore;
import io.jdiffusion.tensor.Backends;
import io.jdiffusion.tensor.testing.Fixtures;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code jdiffusion batch}: the acceptance dataset (3 photos × inpaint/outpaint × refiner on/off ×
 * dilation on/off = 24 runs in one command), --resume, a broken row, and manifest errors before any weight loads.
 */
class BatchCommandTest {
    private static final String BASE = Fixtures.path("sdxl-base").toAbsolutePath().toString();
    private static final String REFINER = Fixtures.path("sdxl-refiner").toAbsolutePath().toString();

    @BeforeAll
    static void cpu() {
        if (System.getProperty(Backends.PROPERTY) == null && System.getenv(Backends.ENV) == null) System.setProperty(Backends.PROPERTY, "cpu");
    }

    /** Three different 64×64 photos and two masks in {@code dir/photos}: the fixture image's middle, mirrored, and inverted. */
    private static void photos(Path dir) throws IOException {
        Path photos = Files.createDirectories(dir.resolve("photos"));
        Image middle = ImageFiles.read(Fixtures.path("init.png")).toRgb().crop(32, 32, 96, 96);
        int[] s = middle.samples(), mirrored = new int[s.length], inverted = new int[s.length];
        for (int y = 0; y < 64; y++) {
            for (int x = 0; x < 64; x++) {
                for (int c = 0; c < 3; c++) {
                    mirrored[(y * 64 + x) * 3 + c] = s[(y * 64 + 63 - x) * 3 + c];
                    inverted[(y * 64 + x) * 3 + c] = 255 - s[(y * 64 + x) * 3 + c];
                }
            }
        }
        ImageFiles.writePng(photos.resolve("astronaut.png"), middle, Map.of());
        ImageFiles.writePng(photos.resolve("coffee.png"), Image.ofSamples(64, 64, 3, mirrored), Map.of());
        ImageFiles.writePng(photos.resolve("cat.png"), Image.ofSamples(64, 64, 3, inverted), Map.of());
        ImageFiles.writePng(photos.resolve("mask.png"), ImageFiles.read(Fixtures.path("mask.png")).crop(32, 32, 96, 96), Map.of());
        ImageFiles.writePng(photos.resolve("mask-inverted.png"), ImageFiles.read(Fixtures.path("mask_inverted.png")).crop(32, 32, 96, 96), Map.of());
    }

    private static List<String> batch(Path manifest, Path store, String... extra) {
        List<String> a = new java.util.ArrayList<>(List.of("batch", manifest.toString(), "--model", BASE, "--refiner", REFINER,
                "--refiner-fractions", "off,0.5", "--dilate", "off,3x1", "--steps", "4", "--runs", store.toString(), "--experiment", "tutorial"));
        a.addAll(List.of(extra));
        return a;
    }

    @Test
    void threePhotosInpaintAndOutpaintRefinerAndDilationMake24RunsAndResumeRunsNone(@TempDir Path tmp) throws IOException {
        photos(tmp);
        Path manifest = tmp.resolve("manifest.csv");
        Files.writeString(manifest, """
                image,mask,prompt,negative_prompt,seed,task,extend
                photos/astronaut.png,photos/mask.png,"a red vase, on a table",blurry,-737,inpaint,
                photos/astronaut.png,,a starry sky,,-737,outpaint,"0,0,32,0"
                photos/coffee.png,photos/mask-inverted.png,a cup of coffee,,5,inpaint,
                photos/coffee.png,,a kitchen,,5,outpaint,"8,0,0,16"
                photos/cat.png,photos/mask.png,a cat,,7,inpaint,
                photos/cat.png,,a garden,,7,outpaint,"0,32,0,0"
                """);
        Path store = tmp.resolve("store");
        CommandLineTest.Result r = CommandLineTest.run(batch(manifest, store).toArray(String[]::new)); // 24 runs: over HostileCli's limit
        assertEquals(0, r.status(), r.err());
        HostileCli.assertClean(r);
        assertTrue(r.err().contains("batch: 6 rows, 24 cells"), r.err());
        assertTrue(r.err().contains("cell 1/24  row 1 (astronaut.png, inpaint) seed=-737 refiner=off dilate=off"), r.err());
        assertTrue(r.err().contains("cell 24/24  row 6 (cat.png, outpaint) seed=7 refiner=0.5 dilate=3x1"), r.err());
        assertTrue(r.err().lines().anyMatch(l -> l.matches("cell 24/24 done in \\d+\\.\\d\\d s \\(\\d+\\.\\d cells/min\\)")), r.err());
        assertTrue(r.err().contains("cell 3/24  step 3/3"), "steps carry the cell: " + r.err());
        assertTrue(r.err().contains("batch: 24 ran, 0 skipped (already in the store), 0 failed, of 24 cells"), r.err());
        assertEquals(24, r.out().lines().count(), r.out());

        RunStore s = RunStore.open(store);
        List<RunRecord> runs = s.list().runs().stream().map(e -> s.get(e.id())).toList();
        assertEquals(24, runs.size());
        Set<String> cells = new HashSet<>();
        Set<String> batches = new HashSet<>();
        for (RunRecord run : runs) {
            Map<String, String> c = run.sweep().cell();
            cells.add(c.get("input") + " " + c.get("task") + " " + c.get("refiner") + " " + c.get("dilate"));
            batches.add(run.sweep().id());
            assertEquals("tutorial", run.experiment());
            boolean outpaint = c.get("task").equals("outpaint");
            assertEquals(outpaint, run.inputs().get("mask") == null, "an outpaint row has no mask input: " + c);
            // the outpaint extents of each row reach the canvas: (L,T,R,B) 64 + 32 wide; 64 + 8 wide and 64 + 16 high; 64 + 32 high
            int w = run.outputs().getFirst().width(), h = run.outputs().getFirst().height();
            String expected = !outpaint ? "64x64" : switch (c.get("input")) {
                case "astronaut.png" -> "96x64";
                case "coffee.png" -> "72x80";
                default -> "64x96";
            };
            assertEquals(expected, w + "x" + h, c.toString());
        }
        assertEquals(24, cells.size(), "every photo × task × refiner × dilation once: " + cells);
        assertEquals(1, batches.size(), "one batch id");
        RunRecord first = runs.getFirst();
        assertEquals("a red vase, on a table", first.prompts().get("prompt"), "a quoted CSV field keeps its comma");
        assertEquals("blurry", first.prompts().get("negativePrompt"));
        assertEquals("-737", first.flatParams().get("seed"));

        CommandLineTest.Result again = HostileCli.ok(batch(manifest, store, "--resume"));
        assertTrue(again.err().contains("batch: 0 ran, 24 skipped (already in the store), 0 failed, of 24 cells"), again.err());
        assertEquals(24, s.list().runs().size());

        // another photo under the same name: only its 8 cells (2 rows) run again (the key holds the input's hash)
        Files.copy(photos(tmp, "astronaut.png"), tmp.resolve("photos/cat.png"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        CommandLineTest.Result changed = HostileCli.ok(batch(manifest, store, "--resume", "--quiet"));
        // no progress and no summary (log lines of this JVM's logger are checked in a child process: QuietTest)
        assertTrue(changed.err().lines().noneMatch(l -> l.startsWith("cell") || l.startsWith("batch") || l.contains("step ")), changed.err());
        assertEquals(8, changed.out().lines().count(), changed.out());
        assertEquals(32, s.list().runs().size());
    }

    private static Path photos(Path tmp, String name) { return tmp.resolve("photos").resolve(name); }

    @Test
    void aBrokenRowIsReportedAndTheOthersRun(@TempDir Path tmp) throws IOException {
        photos(tmp);
        Files.writeString(tmp.resolve("photos/broken.png"), "not a picture");
        ImageFiles.writePng(tmp.resolve("photos/small-mask.png"), Image.filled(32, 32, 255), Map.of());
        Path manifest = tmp.resolve("rows.jsonl");
        Files.writeString(manifest, """
                {"image": "photos/broken.png", "mask": "photos/mask.png", "prompt": "a vase"}
                {"image": "photos/cat.png", "mask": "photos/small-mask.png", "prompt": "a cat", "seeds": [1]}
                {"image": "photos/coffee.png", "prompt": "a kitchen", "task": "outpaint", "extend": [0, 0, 16, 0], "seeds": [3, 4]}
                """);
        Path store = tmp.resolve("store");
        CommandLineTest.Result r = HostileCli.expect(1, null, "batch", manifest.toString(), "--model", BASE, "--steps", "2",
                "--runs", store.toString());
        assertTrue(r.err().contains("row 1 (broken.png, inpaint) failed: "), r.err());
        assertTrue(r.err().contains("cell 2/4, row 2 (cat.png, inpaint) seed=1") && r.err().contains("differs from image size"), r.err());
        assertTrue(r.err().contains("batch: 2 ran, 0 skipped (already in the store), 2 failed, of 4 cells"), r.err());
        assertTrue(r.err().contains("jdiffusion: failed rows: [1, 2]"), r.err());
        RunStore s = RunStore.open(store);
        assertEquals(List.of("3", "4"), s.list().runs().stream().map(e -> e.params().get("seed")).toList(), "row 3 still ran");
    }

    @Test
    void aBadManifestIsAnErrorNamingTheRowAndColumnBeforeAnyWeightLoads(@TempDir Path tmp) throws IOException {
        photos(tmp);
        String broken = HostileCli.brokenBase(tmp).toString(); // loading its UNet would fail with status 1
        String header = "image,mask,prompt,seed,task,extend\n";
        String good = "photos/cat.png,photos/mask.png,a cat,1,inpaint,\n";
        Map<String, String> cases = new java.util.LinkedHashMap<>();
        cases.put(header + good + "photos/nope.png,photos/mask.png,x,1,inpaint,\n", "manifest.csv row 2, column 'image': no such file");
        cases.put(header + good + "photos/cat.png,photos/mask.png,,1,inpaint,\n", "manifest.csv row 2, column 'prompt': missing (required)");
        cases.put(header + good + "photos/cat.png,photos/mask.png,x,1,paint,\n", "row 2, column 'task': expected inpaint or outpaint, got 'paint'");
        cases.put(header + good + "photos/cat.png,,x,1,outpaint,\n", "row 2, column 'extend': outpaint needs L,T,R,B");
        cases.put(header + good + "photos/cat.png,,x,1,outpaint,\"0,0,4\"\n", "row 2, column 'extend': expected L,T,R,B");
        cases.put(header + good + "photos/cat.png,photos/mask.png,x,one,inpaint,\n", "row 2, column 'seed': expected whole numbers");
        cases.put(header + good + "photos/cat.png,,x,1,inpaint,\n", "row 2, column 'mask': inpaint needs a mask");
        cases.put(header + good + "photos/cat.png,photos/mask.png,x,1\n", "manifest.csv row 2: 4 fields, the header has 6");
        cases.put("image,mask,prompt,colour\n" + "photos/cat.png,photos/mask.png,x,red\n", "header: unknown column 'colour'; known: image, mask");
        cases.put(header + "photos/cat.png,photos/mask.png,\"a cat,1,inpaint,\n", "a quoted field is not closed");
        cases.put(header, "has no rows");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            Path manifest = tmp.resolve("manifest.csv");
            Files.writeString(manifest, c.getKey());
            HostileCli.expect(2, c.getValue(), "batch", manifest.toString(), "--model", broken, "--runs", tmp.resolve("store").toString());
        }
        Path jsonl = tmp.resolve("m.jsonl");
        Files.writeString(jsonl, "{\"image\": \"photos/cat.png\", \"mask\": \"photos/mask.png\", \"prompt\": \"x\"}\n[1, 2]\n");
        HostileCli.expect(2, "m.jsonl row 2: expected a JSON object per line", "batch", jsonl.toString(), "--model", broken);
        Files.writeString(jsonl, "{\"image\": \"photos/cat.png\", \"mask\": \"photos/mask.png\", \"prompt\": \"x\", \"seeds\": [1.5]}\n");
        HostileCli.expect(2, "m.jsonl row 1, key 'seeds': expected whole numbers", "batch", jsonl.toString(), "--model", broken);
        HostileCli.expect(2, "expected a .csv or .jsonl file", "batch", tmp.resolve("photos/cat.png").toString(), "--model", broken);
        // a grid that cannot run is refused before loading too
        Files.writeString(tmp.resolve("manifest.csv"), header + good);
        HostileCli.expect(2, "--refiner-fractions", "batch", tmp.resolve("manifest.csv").toString(), "--model", broken,
                "--refiner-fractions", "off,0.8", "--runs", tmp.resolve("store").toString());
        HostileCli.expect(2, "--refiner-fractions: expected 'off' or a number in (0, 1)", "batch", tmp.resolve("manifest.csv").toString(),
                "--model", broken, "--refiner-fractions", "2", "--runs", tmp.resolve("store").toString());
        assertFalse(Files.exists(tmp.resolve("store/runs")) && Files.list(tmp.resolve("store/runs")).findAny().isPresent(), "nothing recorded");
    }
}
