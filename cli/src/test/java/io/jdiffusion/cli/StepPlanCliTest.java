package io.jdiffusion.cli;

import io.jdiffusion.tensor.testing.Fixtures;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 15 item 7: --high-noise-fraction needs --refiner; settings that leave no step are refused before any
 * weight loads (the base's UNet weights here are garbage: reading them would fail with exit 1, not 2).
 */
class StepPlanCliTest {
    @TempDir
    static Path tmp;
    static Path garbageBase;

    /** The fixture base with links to its files, except the UNet weights: 100 garbage bytes. */
    @BeforeAll
    static void garbageWeights() throws IOException {
        Path base = Fixtures.path("sdxl-base");
        garbageBase = tmp.resolve("garbage-base");
        try (Stream<Path> files = Files.walk(base)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Path link = garbageBase.resolve(base.relativize(f).toString());
                Files.createDirectories(link.getParent());
                if (link.getFileName().toString().equals("diffusion_pytorch_model.safetensors") && link.getParent().endsWith("unet")) {
                    Files.write(link, new byte[100]);
                } else {
                    Files.createSymbolicLink(link, f);
                }
            }
        }
    }

    private static CommandLineTest.Result run(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--quiet", "--no-record", "-o", tmp.resolve("never.png").toString()));
        return CommandLineTest.run(all.toArray(String[]::new));
    }

    private static void refused(CommandLineTest.Result r, String... parts) {
        assertEquals(2, r.status(), r.err());
        for (String p : parts) assertTrue(r.err().contains(p), "names " + p + ": " + r.err());
        assertFalse(r.err().contains("Exception"), r.err());
        assertFalse(Files.exists(tmp.resolve("never.png")));
    }

    @Test
    void highNoiseFractionWithoutRefinerIsAnError() {
        refused(run("txt2img", "--model", garbageBase.toString(), "-p", "x", "--high-noise-fraction", "0.8"),
                "--high-noise-fraction", "needs --refiner");
    }

    @Test
    void settingsThatLeaveNoStepAreRefusedNamingThem() {
        String image = Fixtures.path("init.png").toString(), mask = Fixtures.path("mask.png").toString();
        refused(run("img2img", "--model", garbageBase.toString(), "--image", image, "-p", "x", "--steps", "3", "--strength", "0.2"),
                "steps 3, strength 0.2 leave no denoising step for the base model (the base would run 0");
        refused(run("inpaint", "--model", garbageBase.toString(), "--image", image, "--mask", mask, "-p", "x", "--steps", "4",
                        "--strength", "0.1", "--scheduler", "ddim"),
                "steps 4, strength 0.1, scheduler ddim leave no denoising step for the base model");
        // with a refiner, the message names the high-noise fraction too
        refused(run("img2img", "--model", garbageBase.toString(), "--refiner", Fixtures.path("sdxl-refiner").toString(), "--image", image,
                        "-p", "x", "--steps", "3", "--strength", "0.2", "--high-noise-fraction", "0.8"),
                "steps 3, strength 0.2, high-noise fraction 0.8 leave no denoising step for the base model (the base would run 0, the refiner",
                "raise steps or strength, or change the high-noise fraction");
    }
}
