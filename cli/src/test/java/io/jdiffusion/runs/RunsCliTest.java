package io.jdiffusion.runs;

import io.jdiffusion.cli.Main;
import io.jdiffusion.pipelines.image.PngText;
import io.jdiffusion.tensor.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CLI: generation commands record runs (--experiment, --tag, --runs, --no-record); sweep; runs list | show | compare. */
class RunsCliTest {

    @Test
    void generationCommandsRecordTheirRuns(@TempDir Path tmp) throws Exception {
        TinySweep.backend();
        Path store = tmp.resolve("store");
        Path out = tmp.resolve("a.png");
        String base = Fixtures.path("sdxl-base").toString();
        assertEquals(0, Main.execute("inpaint", "--model", base, "--image", TinySweep.image().toString(), "--mask", TinySweep.mask().toString(),
                "--dilate", "3x2", "-p", "a cat", "--steps", "3", "--seed", "5", "-o", out.toString(), "--quiet",
                "--experiment", "cli", "--tag", "first", "--tag", "cats", "--runs", store.toString()));
        RunStore s = RunStore.open(store);
        List<RunStore.Entry> runs = s.list().runs();
        assertEquals(1, runs.size());
        RunRecord r = s.get(runs.getFirst().id());
        assertEquals("cli", r.experiment());
        assertEquals(List.of("first", "cats"), r.tags());
        assertEquals("2", r.flatParams().get("mask.dilate.iterations"));
        assertEquals("5", r.flatParams().get("seed"));
        // the store keeps the very bytes the command wrote, and copies of the inputs
        assertArrayEquals(Files.readAllBytes(out), Files.readAllBytes(s.file(r, r.outputs().getFirst().file())));
        assertArrayEquals(Files.readAllBytes(TinySweep.mask()), Files.readAllBytes(s.file(r, r.inputs().get("mask").file())));
        assertEquals(r.generation().toJson(), PngText.read(out).get("jdiffusion"));
        assertFalse(r.timings().steps().isEmpty());

        assertEquals(0, Main.execute("txt2img", "--model", base, "-p", "x", "--steps", "1", "-o", tmp.resolve("b.png").toString(),
                "--quiet", "--no-record", "--runs", store.toString()));
        assertEquals(1, s.list().runs().size(), "--no-record records nothing");

        String list = capture(() -> Main.execute("runs", "list", "--runs", store.toString(), "--tag", "cats"));
        assertTrue(list.contains(r.id()) && list.contains("3x2"), list);
        String none = capture(() -> Main.execute("runs", "list", "--runs", store.toString(), "--where", "seed=6"));
        assertFalse(none.contains(r.id()), none);
        String show = capture(() -> Main.execute("runs", "show", r.id().substring(0, 20), "--runs", store.toString()));
        assertTrue(show.contains("mask.dilate.kernel = 3") && show.contains("prompt = a cat") && show.contains("backend = "), show);
        assertEquals(2, Main.execute("runs", "show", "nope", "--runs", store.toString()));
    }

    @Test
    void sweepCommandRecordsTheGridAndWritesTheComparePage(@TempDir Path tmp) throws Exception {
        TinySweep.backend();
        Path store = tmp.resolve("store");
        Path page = store.resolve("reports/sweep.html");
        String out = capture(() -> Main.execute("sweep", "--model", Fixtures.path("sdxl-base").toString(), "-p", "a boat", "--steps", "2",
                "--seeds", "3,4", "-g", "1,5", "--experiment", "boats", "--tag", "cli", "--runs", store.toString(),
                "--compare", page.toString(), "--quiet"));
        RunStore s = RunStore.open(store);
        assertEquals(4, s.list().runs().size(), out);
        assertTrue(Files.readString(page).contains("jdiffusion compare"));
        assertEquals(List.of("3", "3", "4", "4"), s.list().runs().stream().map(e -> e.params().get("seed")).toList());
        assertEquals(List.of("1", "5", "1", "5"), s.list().runs().stream().map(e -> e.params().get("base.guidance")).toList());
        Path page2 = tmp.resolve("c.html");
        assertEquals(0, Main.execute("runs", "compare", "--runs", store.toString(), "--experiment", "boats", "--where", "seed=4",
                "--embed", "-o", page2.toString()));
        String html = Files.readString(page2);
        assertEquals(2, ComparePageTest.count(html, "\"outputs\":[\"data:image/png;base64,"));
        // bad axis values are usage errors naming the option
        assertEquals(2, Main.execute("sweep", "--model", Fixtures.path("sdxl-base").toString(), "-p", "x", "--refiner-fractions", "off,2",
                "--runs", store.toString()));
        assertEquals(2, Main.execute("sweep", "--model", Fixtures.path("sdxl-base").toString(), "-p", "x", "--dilate", "3",
                "--runs", store.toString()));
        assertEquals(4, s.list().runs().size());
    }

    private static String capture(java.util.concurrent.Callable<Integer> c) throws Exception {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            assertEquals(0, c.call());
        } finally {
            System.setOut(old);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }
}
