package io.jdiffusion.runs;

import io.jdiffusion.cli.Main;
import io.jdiffusion.pipelines.image.ImageMetadata;
import io.jdiffusion.pipelines.image.PngText;
import io.jdiffusion.tensor.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** From any image back to its run: PNG and JPEG carry the run id; show and reproduce accept both; moved inputs come from the store. */
class ImageRunIdTest {

    record Out(int status, String out, String err) {}

    static Out run(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            int status = Main.execute(args);
            return new Out(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void pngAndJpegLeadBackToTheirRunAndReproduceAfterTheInputMoved(@TempDir Path tmp) throws Exception {
        TinySweep.backend();
        Path store = tmp.resolve("store");
        Path photo = tmp.resolve("photo.png");
        Path mask = tmp.resolve("mask.png");
        Files.copy(TinySweep.image(), photo);
        Files.copy(TinySweep.mask(), mask);
        String base = Fixtures.path("sdxl-base").toString();
        Path png = tmp.resolve("a.png");
        Path jpg = tmp.resolve("b.jpg");
        for (Path o : new Path[] {png, jpg}) {
            Out r = run("inpaint", "--model", base, "--image", photo.toString(), "--mask", mask.toString(), "--dilate", "3x1",
                    "-p", "a cat", "--steps", "2", "--seed", "7", "-o", o.toString(), "--quiet", "--runs", store.toString());
            assertEquals(0, r.status(), r.err());
        }
        RunStore s = RunStore.open(store);
        var runs = s.list().runs();
        assertEquals(2, runs.size());
        String pngRun = ImageMetadata.runId(png), jpgRun = ImageMetadata.runId(jpg);
        assertEquals(runs.get(0).id(), pngRun);
        assertEquals(runs.get(1).id(), jpgRun);
        // the written PNG is the very bytes the store keeps (run id included)
        RunRecord pr = s.get(pngRun);
        assertArrayEquals(Files.readAllBytes(png), Files.readAllBytes(s.file(pr, pr.outputs().getFirst().file())));
        assertEquals(pr.generation().toJson(), PngText.read(png).get("jdiffusion"));
        assertEquals(s.get(jpgRun).generation().toJson(), ImageMetadata.read(jpg).get("jdiffusion"), "the JPEG comment holds the record");

        Out showPng = run("runs", "show", png.toString(), "--runs", store.toString());
        assertEquals(0, showPng.status(), showPng.err());
        assertTrue(showPng.out().startsWith("run         " + pngRun), showPng.out());
        Out showJpg = run("runs", "show", jpg.toString(), "--runs", store.toString());
        assertTrue(showJpg.out().startsWith("run         " + jpgRun), showJpg.out());

        // the input photo moves away: reproduce takes the store's copy (same pixels) and says so
        Files.move(photo, tmp.resolve("elsewhere.png"));
        Path again = tmp.resolve("again.jpg");
        Out rj = run("reproduce", jpg.toString(), "-o", again.toString(), "--quiet", "--runs", store.toString());
        assertEquals(0, rj.status(), rj.err());
        assertTrue(rj.err().contains("image: " + photo + " is missing; used the run store's copy")
                && rj.err().contains("(run " + jpgRun + ")"), rj.err());
        assertArrayEquals(Files.readAllBytes(jpg), Files.readAllBytes(again), "same pixels, record and run id give the same JPEG bytes");
        assertEquals(jpgRun, ImageMetadata.runId(again));
        Path againPng = tmp.resolve("again.png");
        Out rp = run("reproduce", png.toString(), "-o", againPng.toString(), "--quiet", "--runs", store.toString());
        assertEquals(0, rp.status(), rp.err());
        assertTrue(rp.err().contains("identical to " + png), rp.err());
        assertArrayEquals(Files.readAllBytes(png), Files.readAllBytes(againPng));

        // a changed photo at the original path is not used either: the store's copy is
        Files.write(photo, Files.readAllBytes(TinySweep.mask()));
        Out changed = run("reproduce", png.toString(), "-o", againPng.toString(), "--quiet", "--runs", store.toString());
        assertEquals(0, changed.status(), changed.err());
        assertTrue(changed.err().contains("has changed since the run"), changed.err());
        assertArrayEquals(Files.readAllBytes(png), Files.readAllBytes(againPng));

        // without the store, the moved input is an error naming it (exit 2)
        Files.delete(photo);
        Out noStore = run("reproduce", png.toString(), "-o", againPng.toString(), "--quiet", "--runs", tmp.resolve("nostore").toString());
        assertEquals(2, noStore.status());
        assertTrue(noStore.err().contains("image file " + photo + " is missing") && noStore.err().contains("no run store"), noStore.err());

        // --no-record: no run id, and `runs show` says so
        Path plain = tmp.resolve("plain.png");
        assertEquals(0, run("txt2img", "--model", base, "-p", "x", "--steps", "1", "-o", plain.toString(), "--quiet", "--no-record").status());
        assertNull(ImageMetadata.runId(plain));
        assertFalse(PngText.read(plain).containsKey(ImageMetadata.RUN_KEYWORD));
        Out noId = run("runs", "show", plain.toString(), "--runs", store.toString());
        assertEquals(2, noId.status());
        assertTrue(noId.err().contains("carries no run id"), noId.err());
    }
}
