package io.jdiffusion.cli;

import io.jdiffusion.tensor.testing.Fixtures;
import io.jdiffusion.tensor.testing.TruncatedCopy;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The command line as a user meets it: exit status 0/2/1, messages that name the option, bad
 * arguments refused before any model loads, no output file after a failure, identical bytes for the
 * same command, and {@code reproduce}.
 */
class CommandLineTest {
    @TempDir
    static Path tmp;

    static Path base, refiner, brokenBase, image, mask;

    /** A copy of the base model whose UNet weights are corrupt: loading it fails, so any exit 2 proves nothing loaded. */
    @BeforeAll
    static void models() throws IOException {
        base = Fixtures.path("sdxl-base");
        refiner = Fixtures.path("sdxl-refiner");
        image = Fixtures.path("init.png");
        mask = Fixtures.path("mask.png");
        brokenBase = TruncatedCopy.of(base, tmp.resolve("broken-base"), "unet/diffusion_pytorch_model.safetensors", 100);
    }

    record Result(int status, String out, String err) {}

    static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        PrintStream oldOut = System.out, oldErr = System.err;
        try {
            System.setOut(new PrintStream(out, true));
            System.setErr(new PrintStream(err, true));
            int status = Main.execute(args);
            return new Result(status, out.toString(), err.toString());
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    static List<String> inpaint(Path model, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("inpaint", "--model", model.toString(), "--image", image.toString(),
                "--mask", mask.toString(), "--prompt", "a red vase", "--steps", "3", "--seed", "7", "--quiet", "-o", out.toString(),
                "--runs", tmp.resolve("runs").toString()));
        a.addAll(List.of(extra));
        return a;
    }

    static void assertRejected(String option, List<String> args) {
        Path out = Path.of(args.get(args.indexOf("-o") + 1));
        Result r = run(args.toArray(String[]::new));
        assertEquals(2, r.status(), "exit status for a bad " + option + "; stderr: " + r.err());
        assertTrue(r.err().contains(option), "the message names " + option + ": " + r.err());
        assertFalse(Files.exists(out), "no output file after a rejected command");
    }

    @Test
    void badArgumentsAreRejectedBeforeAnyModelLoads() {
        Path out = tmp.resolve("never.png");
        assertRejected("--strength", inpaint(brokenBase, out, "--strength", "1.5"));
        assertRejected("--strength", inpaint(brokenBase, out, "--strength", "0"));
        assertRejected("--width", inpaint(brokenBase, out, "--width", "100", "--height", "128"));
        assertRejected("--high-noise-fraction", inpaint(brokenBase, out, "--refiner", refiner.toString()));
        assertRejected("--high-noise-fraction", inpaint(brokenBase, out, "--refiner", refiner.toString(), "--high-noise-fraction", "1.2"));
        assertRejected("--scheduler", inpaint(brokenBase, out, "--scheduler", "heun9000"));
        assertRejected("--dilate", inpaint(brokenBase, out, "--dilate", "15"));
        assertRejected("--model", inpaint(tmp.resolve("no-such-model"), out));
        assertRejected("--refiner", inpaint(brokenBase, out, "--refiner", tmp.resolve("nope").toString(), "--high-noise-fraction", "0.8"));
    }

    @Test
    void maskOfAnotherSizeIsRejectedNamingBothSizes() throws IOException {
        Path small = tmp.resolve("small-mask.png");
        io.jdiffusion.pipelines.image.PngWriter.write(small, io.jdiffusion.pipelines.image.Image.filled(64, 32, 255), java.util.Map.of());
        List<String> args = inpaint(brokenBase, tmp.resolve("never2.png"));
        args.set(args.indexOf(mask.toString()), small.toString());
        Result r = run(args.toArray(String[]::new));
        assertEquals(2, r.status(), r.err());
        String imageSize = io.jdiffusion.pipelines.image.ImageFiles.read(image).size();
        assertTrue(r.err().contains("64x32") && r.err().contains(imageSize), r.err());
    }

    @Test
    void missingComponentIsNamed() throws IOException {
        Path noVae = tmp.resolve("no-vae");
        Files.createDirectories(noVae.resolve("unet"));
        Files.writeString(noVae.resolve("model_index.json"), "{}");
        Result r = run(inpaint(noVae, tmp.resolve("never3.png")).toArray(String[]::new));
        assertEquals(2, r.status(), r.err());
        assertTrue(r.err().contains("'vae/'"), r.err());
    }

    @Test
    void failureWhileRunningExitsOneAndLeavesNoFile() {
        Path out = tmp.resolve("failed.png");
        Result r = run(inpaint(brokenBase, out).toArray(String[]::new));
        assertEquals(1, r.status(), r.err());
        assertTrue(r.err().contains("diffusion_pytorch_model.safetensors"), r.err());
        assertFalse(Files.exists(out));
        try (Stream<Path> s = Files.list(tmp)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith("failed")), "no temporary file left behind");
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void sameCommandGivesSameBytesAndReproduceRegeneratesThem() throws IOException {
        Path a = tmp.resolve("a.png"), b = tmp.resolve("b.png"), c = tmp.resolve("c.png");
        String[] extra = {"--refiner", refiner.toString(), "--high-noise-fraction", "0.7", "--dilate", "5x2", "-n", "blurry"};
        Result r1 = run(inpaint(base, a, extra).toArray(String[]::new));
        assertEquals(0, r1.status(), r1.err());
        assertEquals(a.toString(), r1.out().strip());
        Result r2 = run(inpaint(base, b, extra).toArray(String[]::new));
        assertEquals(0, r2.status(), r2.err());
        // each recorded run's PNG carries its own run id; everything else is the same bytes
        var textA = new java.util.LinkedHashMap<>(io.jdiffusion.pipelines.image.PngText.read(a));
        var textB = new java.util.LinkedHashMap<>(io.jdiffusion.pipelines.image.PngText.read(b));
        assertFalse(textA.remove("jdiffusion-run").equals(textB.remove("jdiffusion-run")), "two runs, two run ids");
        assertEquals(textA, textB);
        assertArrayEquals(io.jdiffusion.pipelines.image.PngWriter.encode(io.jdiffusion.pipelines.image.ImageFiles.read(a), textA),
                io.jdiffusion.pipelines.image.PngWriter.encode(io.jdiffusion.pipelines.image.ImageFiles.read(b), textB),
                "the same command twice gives the same PNG bytes (but for the run id)");
        Result r3 = run("reproduce", a.toString(), "-o", c.toString(), "--quiet");
        assertEquals(0, r3.status(), r3.err());
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(c), "reproduce regenerates the same bytes");
    }

    @Test
    void singleFileCheckpointWithConfigFolderRunsAndReproduces() throws IOException {
        Path a = tmp.resolve("single.png"), b = tmp.resolve("single-again.png");
        // diffusers' conversion when the fixture set has one, else the project's own writer's (the same
        // tensors under the same names; SingleFileCheckpointTest compares the two where both exist)
        Path single = Fixtures.path("sdxl-base-single-file.safetensors");
        if (!Files.isRegularFile(single)) {
            single = tmp.resolve("sdxl-base-single-file.safetensors");
            if (!Files.isRegularFile(single)) {
                io.jdiffusion.pipelines.checkpoint.SingleFileWriter.write(base, io.jdiffusion.pipelines.checkpoint.Layout.BASE, single);
            }
        }
        List<String> args = new ArrayList<>(List.of("txt2img", "--model", single.toString(),
                "--config", base.toString(), "--prompt", "a red vase", "--steps", "2", "--seed", "3", "--quiet", "-o", a.toString(),
                "--no-record"));
        Result r = run(args.toArray(String[]::new));
        assertEquals(0, r.status(), r.err());
        Result again = run("reproduce", a.toString(), "-o", b.toString(), "--quiet");
        assertEquals(0, again.status(), again.err());
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
    }

    @Test
    void jpegOutputCarriesTheRecordAsAComment() throws IOException {
        Path out = tmp.resolve("out.jpg");
        Result r = run("txt2img", "--model", base.toString(), "--prompt", "a red vase", "--steps", "2", "--quiet", "-o", out.toString(),
                "--no-record");
        assertEquals(0, r.status(), r.err());
        byte[] b = Files.readAllBytes(out);
        assertEquals((byte) 0xFF, b[0]);
        assertEquals((byte) 0xD8, b[1]);
        String text = new String(b, java.nio.charset.StandardCharsets.ISO_8859_1);
        assertTrue(text.contains("\"pipeline\":\"txt2img\""), "the JSON record is in the JPEG");
        io.jdiffusion.pipelines.image.Image img = io.jdiffusion.pipelines.image.ImageFiles.read(out);
        // txt2img's default size, as diffusers': the UNet's sample_size × 8, both sides (not the init image's)
        int side = Fixtures.readJson(base.resolve("unet/config.json")).path("sample_size").asInt() * 8;
        assertEquals(side, img.width(), "default width");
        assertEquals(side, img.height(), "default height");
    }

    @Test
    void helpReadsLikeAManual() {
        Result r = run("inpaint", "--help");
        assertEquals(0, r.status());
        for (String opt : List.of("--dilate", "--refiner", "--high-noise-fraction", "--mask", "--strength", "--seed", "--guidance")) {
            assertTrue(r.out().contains(opt), "help mentions " + opt);
        }
    }
}
