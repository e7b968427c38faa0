package io.jdiffusion.benchmarks;

import io.jdiffusion.pipelines.checkpoint.Layout;
import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Backends;
import io.jdiffusion.tensor.cpu.CpuBackend;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * What the SDXL benchmarks share. Two scales: {@code tiny} runs the fixture models (testdata/tiny-sdxl,
 * or $SDXL_FIXTURES) so the benchmarks finish on a 2-core CPU; {@code full} builds the official
 * full-size configs with random weights ({@link io.jdiffusion.pipelines.RandomSdxl}) for the GPU.
 * Backends by {@link Backends#named} name: {@code cpu}, {@code cuda-f16}, {@code cuda-bf16}, {@code cuda-f32}
 * (the dtype results and weights are stored in; CUDA device from jdiffusion.cuda.device).
 */
final class FullSize {
    private FullSize() {}

    static Backend backend(String name) {
        return Backends.named(name);
    }

    static boolean full(String scale) {
        return switch (scale) {
            case "full" -> true;
            case "tiny" -> false;
            default -> throw new IllegalArgumentException("scale '" + scale + "'; allowed: tiny (fixture models), full (official configs, random weights)");
        };
    }

    static Layout layout(String model) {
        return switch (model) {
            case "base" -> Layout.BASE;
            case "refiner" -> Layout.REFINER;
            case "inpaint" -> Layout.INPAINT;
            default -> throw new IllegalArgumentException("model '" + model + "'; allowed: base, refiner, inpaint");
        };
    }

    /** The fixture folder of a model (the inpainting fixture is a UNet only; its other parts are the base's). */
    static Path fixtureModel(String model) { return fixtures().resolve("sdxl-" + model); }

    /** Waits for queued device work, so that a timed call covers it. */
    static void sync(Backend be) {
        be.synchronize();
    }

    /** Device memory of a CUDA backend, for the log. */
    static String memory(Backend be) {
        return be.memoryUse()
                .map(s -> String.format(Locale.ROOT, "peak in use %.0f MiB, peak reserved %.0f MiB", s.peakInUse() / 1048576.0, s.peakReserved() / 1048576.0))
                .orElse("(no device memory on " + be.name() + ")");
    }

    static void close(Backend be) {
        if (be != CpuBackend.INSTANCE) be.close();
    }

    /** $SDXL_FIXTURES, else testdata/tiny-sdxl above the working directory. */
    static Path fixtures() {
        String env = System.getenv("SDXL_FIXTURES");
        if (env != null && !env.isBlank()) return Path.of(env);
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("testdata/tiny-sdxl"))) return p.resolve("testdata/tiny-sdxl");
        }
        throw new IllegalStateException("testdata/tiny-sdxl not found above " + Path.of("").toAbsolutePath() + "; set SDXL_FIXTURES");
    }

    static float[] gauss(java.util.Random r, long n) {
        float[] f = new float[Math.toIntExact(n)];
        for (int i = 0; i < f.length; i++) f[i] = (float) r.nextGaussian();
        return f;
    }
}
