package io.jdiffusion.tensor.testing;

import com.fasterxml.jackson.databind.JsonNode;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.safetensors.SafetensorsFile;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The Stable Diffusion 1.x/2.x fixture sets (layout in testdata/generate/README.md): by default both
 * of the repository's, {@code testdata/tiny-sd15} and {@code testdata/tiny-sd2}; the environment
 * variable {@code SD_FIXTURES} replaces them with one other folder of that layout. Shapes and settings
 * are read from the files, never assumed.
 */
public final class SdFixtures {
    private SdFixtures() {}

    private static List<Set> sets;

    /** One fixture set: its folder, reference.json and reference.safetensors (opened once per test JVM). */
    public static final class Set {
        private final Path root;
        private final JsonNode reference;
        private SafetensorsFile tensors;

        private Set(Path root) {
            if (!Files.isRegularFile(root.resolve("reference.json"))) {
                throw new IllegalStateException("SD fixture folder " + root + " has no reference.json");
            }
            this.root = root;
            this.reference = Fixtures.readJson(root.resolve("reference.json"));
        }

        public Path root() { return root; }

        /** A path inside the set, e.g. {@code path("sd/unet")}. */
        public Path path(String relative) { return root.resolve(relative); }

        public JsonNode reference() { return reference; }

        /** {@code sd15} or {@code sd2}, as the generator recorded it. */
        public String family() { return reference.path("family").asText(); }

        public synchronized SafetensorsFile tensors() {
            if (tensors == null) tensors = SafetensorsFile.open(root.resolve("reference.safetensors"));
            return tensors;
        }

        /** A reference tensor as an F32 heap tensor. */
        public Tensor tensor(String name) {
            SafetensorsFile f = tensors();
            return Tensor.of(f.floats(name), f.info(name).shape());
        }

        public float[] floats(String name) { return tensors().floats(name); }

        public boolean has(String name) { return tensors().contains(name); }

        /** The folder name, for test names. */
        @Override
        public String toString() { return root.getFileName().toString(); }
    }

    /** $SD_FIXTURES, or testdata/tiny-sd15 and testdata/tiny-sd2. */
    public static synchronized List<Set> sets() {
        if (sets == null) {
            String env = System.getenv("SD_FIXTURES");
            List<Set> list = new ArrayList<>();
            if (env != null && !env.isBlank()) list.add(new Set(Path.of(env).toAbsolutePath()));
            else for (String name : List.of("tiny-sd15", "tiny-sd2")) list.add(new Set(Fixtures.testdata().resolve(name)));
            sets = List.copyOf(list);
        }
        return sets;
    }
}
