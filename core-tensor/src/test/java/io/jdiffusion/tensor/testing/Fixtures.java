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
