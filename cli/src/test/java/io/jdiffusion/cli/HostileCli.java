package io.jdiffusion.cli;

import io.jdiffusion.tensor.testing.FileTrees;
import io.jdiffusion.tensor.testing.Fixtures;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the hostile-input tests share: running the command line with a time limit, the check that
 * a failure is clean (the expected exit status and message, no stack trace, no generic exception
 * name, no OutOfMemoryError), and small generated models and stores. Nothing large is stored in
 * the repository: every hostile file is made by the test that uses it.
 */
final class HostileCli {
    private HostileCli() {}

    /** What no hostile input may ever print. */
    static final List<String> FORBIDDEN = List.of("OutOfMemoryError", "NullPointerException", "ArithmeticException",
            "ClassCastException", "IndexOutOfBoundsException", "NegativeArraySizeException", "NumberFormatException",
            "StackOverflowError", "\tat ", "\u001b", "\r");

    /** Longest a hostile input may take. */
    static final long LIMIT_SECONDS = 60;

    /** Runs the command line; fails when it takes longer than {@link #LIMIT_SECONDS}. */
    static CommandLineTest.Result run(String... args) {
        long t0 = System.nanoTime();
        CommandLineTest.Result r = CommandLineTest.run(args);
        long s = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0);
        assertTrue(s < LIMIT_SECONDS, "took " + s + " s: " + String.join(" ", args));
        return r;
    }

    /** Runs and checks: the exit status, a message containing {@code expected}, nothing forbidden printed. */
    static CommandLineTest.Result expect(int status, String expected, String... args) {
        CommandLineTest.Result r = run(args);
        assertEquals(status, r.status(), "exit status of " + String.join(" ", args) + "\nstderr: " + r.err());
        if (expected != null) assertTrue(r.err().contains(expected), "message should contain '" + expected + "': " + r.err());
        assertClean(r);
        return r;
    }

    static void assertClean(CommandLineTest.Result r) {
        for (String f : FORBIDDEN) {
            assertFalse(r.err().contains(f) || r.out().contains(f), "printed " + f.replace("\u001b", "ESC").replace("\r", "CR")
                    .replace("\t", "TAB") + ": " + r.err());
        }
    }

    static Path base() { return Fixtures.path("sdxl-base").toAbsolutePath(); }

    /**
     * A copy of the fixture base model whose UNet weights are cut short: loading them fails (exit 1),
     * so an exit status 2 proves a check ran before any weight was read.
     */
    static Path brokenBase(Path dir) throws IOException {
        Path broken = copyModel(dir.resolve("broken-base"));
        Path unet = broken.resolve("unet/diffusion_pytorch_model.safetensors");
        byte[] b = Files.readAllBytes(unet);
        Files.write(unet, Arrays.copyOf(b, 100));
        return broken;
    }

    /** A copy of the fixture base model (to alter). */
    static Path copyModel(Path to) throws IOException { return FileTrees.copy(base(), to); }

    /** txt2img on the fixture base: 2 steps, 64×64, with extra arguments. */
    static List<String> txt2img(Path model, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("txt2img", "--model", model.toString(), "--prompt", "a red vase", "--quiet", "-o", out.toString()));
        List<String> more = List.of(extra);
        if (!more.contains("--steps")) a.addAll(List.of("--steps", "2"));
        if (!more.contains("--seed")) a.addAll(List.of("--seed", "5"));
        a.addAll(more);
        return a;
    }

    /** Runs a command that must succeed. */
    static CommandLineTest.Result ok(List<String> args) {
        return expect(0, null, args.toArray(String[]::new));
    }
}
