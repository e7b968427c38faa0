package io.jdiffusion.cli;

import io.jdiffusion.pipelines.UntiledVaeBudget;
import io.jdiffusion.tensor.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --vram: same PNG bytes as without, the peak device memory printed, bad sizes rejected by name. */
class VramOptionTest {
    @TempDir
    Path tmp;

    List<String> inpaint(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("inpaint", "--model", Fixtures.path("sdxl-base").toString(),
                "--refiner", Fixtures.path("sdxl-refiner").toString(), "--high-noise-fraction", "0.7",
                "--image", Fixtures.path("init.png").toString(), "--mask", Fixtures.path("mask.png").toString(),
                "--prompt", "a red vase", "--steps", "3", "--seed", "7", "--quiet", "-o", out.toString(),
                "--no-record")); // a recorded run's PNG carries its own run id; the bytes compared here must not
        a.addAll(List.of(extra));
        return a;
    }

    @Test
    void vramGivesTheSameImageAndReportsThePeak() throws IOException {
        Path a = tmp.resolve("a.png"), b = tmp.resolve("b.png");
        CommandLineTest.Result free = CommandLineTest.run(inpaint(a).toArray(String[]::new));
        assertEquals(0, free.status(), free.err());
        assertFalse(free.err().contains("device memory"), "no budget, no memory line: " + free.err());
        // A budget the VAE's weights and the whole image's activations fit in (whatever the fixture
        // set's image size and VAE widths), so the plan keeps the VAE untiled: tiling would change the image.
        long mib = (UntiledVaeBudget.untiledVaeBytesAtInitImageSize() >> 20) + 2;
        List<String> loud = inpaint(b, "--vram", mib + "m");
        loud.remove("--quiet"); // the peak is a note: --quiet silences it
        CommandLineTest.Result limited = CommandLineTest.run(loud.toArray(String[]::new));
        assertEquals(0, limited.status(), limited.err());
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b), "the budget changes no byte of the image");
        assertTrue(limited.err().contains("device memory: peak") && limited.err().contains("budget " + mib + ".0 MiB"), limited.err());
        CommandLineTest.Result quiet = CommandLineTest.run(inpaint(tmp.resolve("c.png"), "--vram", mib + "m").toArray(String[]::new));
        assertEquals(0, quiet.status(), quiet.err());
        assertFalse(quiet.err().contains("device memory"), "--quiet prints nothing but errors: " + quiet.err());

        Path never = tmp.resolve("never.png");
        CommandLineTest.Result bad = CommandLineTest.run(inpaint(never, "--vram", "8x").toArray(String[]::new));
        assertEquals(2, bad.status(), bad.err());
        assertTrue(bad.err().contains("--vram"), bad.err());
        assertFalse(Files.exists(never));
    }
}
