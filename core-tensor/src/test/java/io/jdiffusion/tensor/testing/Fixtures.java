package io.jdiffusion.tensor.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.safetensors.SafetensorsFile;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The reference fixtures: by default the repository's {@code testdata/tiny-sdxl}; the environment
 * variable {@code SDXL_FIXTURES} points at another folder of the same layout. Shapes and settings
 * are always read from the files, never assumed.
 */
public final class Fixtures {
    private Fixtures() {}

    private static Path root;
    private static JsonNode reference;
    private static SafetensorsFile tensors;

    /** The repository's testdata folder (holds sdxl-keys.json and tiny-sdxl/). */
    public static synchronized Path testdata() {
        String prop = System.getProperty("jdiffusion.testdata");
        if (prop != null && Files.isDirectory(Path.of(prop))) return Path.of(prop);
        Path p = Path.of("").toAbsolutePath();
        while (p != null) {
            if (Files.isDirectory(p.resolve("testdata/tiny-sdxl"))) return p.resolve("testdata");
            p = p.getParent();
        }
        throw new IllegalStateException("testdata/ not found above " + Path.of("").toAbsolutePath());
    }

    /** The fixture set: $SDXL_FIXTURES or testdata/tiny-sdxl. */
    public static synchronized Path root() {
        if (root == null) {
            String env = System.getenv("SDXL_FIXTURES");
            root = env != null && !env.isBlank() ? Path.of(env).toAbsolutePath() : testdata().resolve("tiny-sdxl");
            if (!Files.isRegularFile(root.resolve("reference.json"))) {
                throw new IllegalStateException("fixture folder " + root + " has no reference.json");
            }
        }
        return root;
    }

    /** A path inside the fixture set, e.g. {@code path("sdxl-base/unet")}. */
    public static Path path(String relative) { return root().resolve(relative); }

    /**
     * A file or folder that not every fixture set of the documented layout has (e.g. the diffusers-written
     * single-file checkpoint): the calling test is skipped, naming it, when this set lacks it.
     */
    public static Path required(String relative) {
        Path p = path(relative);
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(p),
                () -> "skipped: the fixture set " + root() + " has no " + relative);
        return p;
    }

    public static synchronized JsonNode reference() {
        if (reference == null) reference = readJson(root().resolve("reference.json"));
        return reference;
    }

    /** reference.safetensors, opened once for the whole test JVM. */
    public static synchronized SafetensorsFile tensors() {
        if (tensors == null) tensors = SafetensorsFile.open(root().resolve("reference.safetensors"));
        return tensors;
    }

    /** A reference tensor as an F32 heap tensor. */
    public static Tensor tensor(String name) {
        SafetensorsFile f = tensors();
        return Tensor.of(f.floats(name), f.info(name).shape());
    }

    public static boolean has(String name) { return tensors().contains(name); }

    /**
     * The backend the fixture parity tests run on: {@link io.jdiffusion.tensor.Backends#get()}, i.e. the
     * CPU reference unless {@code -Djdiffusion.backend=cuda} (or JDIFFUSION_BACKEND) asks for the GPU, as
     * the GPU check script does.
     */
    public static io.jdiffusion.tensor.Backend backend() { return io.jdiffusion.tensor.Backends.get(); }

    /**
     * The tolerance of a parity check on {@link #backend()}: {@code f32Tolerance} when it computes in
     * F32; for F16/BF16 storage the tolerance a half-precision run can meet (see docs/cuda.md: diffusers'
     * own fp16 pipelines differ from fp32 by about 1e-3 relative per module and 1e-2 on images).
     */
    public static double tolerance(double f32Tolerance) {
        return switch (backend().computeType()) {
            case F32 -> f32Tolerance;
            case F16 -> Math.max(f32Tolerance, 2e-2);
            case BF16 -> Math.max(f32Tolerance, 1e-1);
        };
    }

    /** sdxl-keys.json: key → [shape, dtype] of the full-size components (always from testdata/). */
    public static JsonNode sdxlKeys() { return readJson(testdata().resolve("sdxl-keys.json")); }

    public static JsonNode readJson(Path p) {
        try {
            return new ObjectMapper().readTree(p.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
