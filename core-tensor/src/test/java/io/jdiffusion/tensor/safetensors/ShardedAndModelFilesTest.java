package io.jdiffusion.tensor.safetensors;

import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.testing.Fixtures;
import io.jdiffusion.tensor.testing.ShardedCopy;
import io.jdiffusion.tensor.weights.ModelFiles;
import io.jdiffusion.tensor.weights.SafetensorsWeights;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ShardedAndModelFilesTest {
    @TempDir
    Path dir;

    private static final String BASE = ModelFiles.DIFFUSERS;

    /**
     * Splits the fixture UNet into 3 shards + an index (as diffusers' save_pretrained would), loads
     * them back through ModelFiles, and compares every tensor with the single file.
     */
    @Test
    void shardedRoundTripOfTheFixtureUnet() throws IOException {
        Path unet = Fixtures.path("sdxl-base/unet");
        ModelFiles.Found single = ModelFiles.find(unet, BASE, null);
        assertEquals(ModelFiles.Layout.SINGLE, single.layout());
        Path out = dir.resolve("unet");
        Files.createDirectories(out);
        ShardedCopy.write(single.file(), out, BASE, "fp16", 3);
        try (SafetensorsFile f = SafetensorsFile.open(single.file())) {
            List<String> names = f.names();
            long total = 0;
            for (String n : names) total += f.info(n).byteLength();
            assertTrue(Files.isRegularFile(out.resolve(BASE + ".safetensors.index.fp16.json")), "diffusers' name of the fp16 index");

            ModelFiles.Found found = ModelFiles.find(out, BASE, "fp16");
            assertEquals(ModelFiles.Layout.SHARDED, found.layout());
            assertEquals("fp16", found.variant());
            assertFalse(found.fallback());
            SafetensorsIndex index = SafetensorsIndex.read(found.file());
            assertEquals(String.valueOf(total), index.metadata().get("total_size"));
            assertEquals(3, index.shardNames().size());
            try (SafetensorsWeights w = found.open()) {
                assertEquals(new TreeSet<>(names), new TreeSet<>(w.keys()));
                for (String n : names) {
                    assertArrayEquals(f.info(n).shape(), w.shape(n), n);
                    assertEquals(f.tensor(n).dtype(), w.tensor(n).dtype(), n);
                    assertArrayEquals(f.tensor(n).toFloatArray(), w.tensor(n).toFloatArray(), n);
                    assertTrue(w.origin(n).contains("-of-00003"), w.origin(n));
                }
            }
            // without a variant asked for, the only variant present is used
            ModelFiles.Found onlyVariant = ModelFiles.find(out, BASE, null);
            assertEquals(found.file(), onlyVariant.file());
            assertTrue(onlyVariant.fallback());
        }
    }

    private Path shardSet(String folder) throws IOException {
        Path d = dir.resolve(folder);
        Files.createDirectories(d);
        new SafetensorsWriter().addF32("a", new float[] {1, 2}, 2).addF32("b", new float[] {3}, 1).write(d.resolve("s1.safetensors"));
        new SafetensorsWriter().add("c", DType.BF16, new float[] {4, 5, 6}, 3).write(d.resolve("s2.safetensors"));
        return d;
    }

    private static Path index(Path d, String json) throws IOException {
        Path p = d.resolve("model.safetensors.index.json");
        Files.writeString(p, json);
        return p;
    }

    private static void failsWith(Path index, String tensor, String... fragments) {
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> SafetensorsWeights.openIndex(index).close());
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "'" + e.getMessage() + "' lacks '" + f + "'");
        assertEquals(tensor, e.tensor(), e.getMessage());
    }

    @Test
    void shardedIndexValidation() throws IOException {
        Path d = shardSet("bad");
        String ok = "{\"metadata\":{\"total_size\":24},\"weight_map\":{\"a\":\"s1.safetensors\",\"b\":\"s1.safetensors\",\"c\":\"s2.safetensors\"}}";
        try (SafetensorsWeights w = SafetensorsWeights.openIndex(index(d, ok))) {
            assertEquals(Set.of("a", "b", "c"), w.keys());
            assertArrayEquals(new float[] {4, 5, 6}, w.tensor("c").toFloatArray());
        }
        failsWith(index(d, "{\"weight_map\":{\"a\":\"s1.safetensors\",\"b\":\"s1.safetensors\",\"c\":\"s3.safetensors\"}}"), null,
                "shard file", "s3.safetensors", "is missing", "'c'");
        failsWith(index(d, "{\"weight_map\":{\"a\":\"s1.safetensors\",\"b\":\"s1.safetensors\",\"c\":\"s2.safetensors\",\"d\":\"s2.safetensors\"}}"),
                "d", "listed in", "but not in this shard", "s2.safetensors");
        failsWith(index(d, "{\"weight_map\":{\"a\":\"s1.safetensors\",\"c\":\"s2.safetensors\"}}"), "b",
                "in this shard but not listed in");
        failsWith(index(d, "{\"weight_map\":{\"a\":\"s1.safetensors\",\"b\":\"s2.safetensors\",\"c\":\"s2.safetensors\"}}"), "b",
                "in this shard but", "puts it in s2.safetensors");
        failsWith(index(d, "{\"weight_map\":{\"a\":\"../bad/s1.safetensors\"}}"), "a", "not a plain file name");
        failsWith(index(d, "{\"weight_map\":{\"a\":7}}"), "a", "not a shard file name");
        failsWith(index(d, "{\"weight_map\":{}}"), null, "empty weight_map");
        failsWith(index(d, "{\"metadata\":{}}"), null, "no \"weight_map\" object");
        failsWith(index(d, "[\"s1.safetensors\"]"), null, "not a JSON object");
        failsWith(index(d, "{\"weight_map\":{\"a\":\"s1.safetensors\""), null, "not well-formed JSON");
        failsWith(d.resolve("missing.index.json"), null, "cannot be read");
        // a key in two shards (both listing it) is refused too
        new SafetensorsWriter().addF32("a", new float[] {9}, 1).write(d.resolve("s3.safetensors"));
        failsWith(index(d, "{\"weight_map\":{\"a\":\"s3.safetensors\",\"b\":\"s1.safetensors\",\"c\":\"s2.safetensors\"}}"), "a",
                "in this shard but", "puts it in s3.safetensors");
        // plain multi-file weights: the same name twice is named
        SafetensorsException e = assertThrows(SafetensorsException.class,
                () -> SafetensorsWeights.open(List.of(d.resolve("s1.safetensors"), d.resolve("s3.safetensors")), k -> k).close());
        assertEquals("a", e.tensor());
        assertTrue(e.getMessage().contains("also occurs in"), e.getMessage());
    }

    private Path folder(String name, String... files) throws IOException {
        Path d = dir.resolve(name);
        Files.createDirectories(d);
        for (String f : files) {
            if (f.endsWith(".safetensors")) new SafetensorsWriter().addF32(f, new float[] {1}, 1).write(d.resolve(f));
            else Files.writeString(d.resolve(f), "{}");
        }
        return d;
    }

    @Test
    void modelFilesPrefersWhatIsAskedAndFallsBack() throws IOException {
        Path both = folder("both", BASE + ".safetensors", BASE + ".fp16.safetensors", BASE + ".bin");
        assertEquals(both.resolve(BASE + ".safetensors"), ModelFiles.find(both, BASE, null).file());
        ModelFiles.Found fp16 = ModelFiles.find(both, BASE, "fp16");
        assertEquals(both.resolve(BASE + ".fp16.safetensors"), fp16.file());
        assertEquals("fp16", fp16.variant());
        assertFalse(fp16.fallback());
        ModelFiles.Found bf16 = ModelFiles.find(both, BASE, "bf16");
        assertEquals(both.resolve(BASE + ".safetensors"), bf16.file(), "no bf16 variant: the plain file");
        assertNull(bf16.variant());
        assertTrue(bf16.fallback());
        try (SafetensorsWeights w = fp16.open()) {
            assertEquals(Set.of(BASE + ".fp16.safetensors"), w.keys());
        }

        // a single file wins over an index of the same variant
        Path sharded = folder("sharded", "model.safetensors.index.json", "model.fp16.safetensors");
        assertEquals(ModelFiles.Layout.SHARDED, ModelFiles.find(sharded, ModelFiles.TRANSFORMERS, null).layout());
        assertEquals(ModelFiles.Layout.SINGLE, ModelFiles.find(sharded, ModelFiles.TRANSFORMERS, "fp16").layout());

        // two variants and no plain file: no guess, an error listing everything
        Path two = folder("two", BASE + ".fp16.safetensors", BASE + ".safetensors.index.bf16.json",
                BASE + ".bf16-00001-of-00002.safetensors", BASE + ".bin");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelFiles.find(two, BASE, null));
        for (String frag : new String[] {BASE + ".safetensors", BASE + ".safetensors.index.json", "variants present: [bf16, fp16]",
                BASE + ".bin", "only safetensors"}) {
            assertTrue(e.getMessage().contains(frag), "'" + e.getMessage() + "' lacks '" + frag + "'");
        }
        IllegalArgumentException e2 = assertThrows(IllegalArgumentException.class, () -> ModelFiles.find(two, BASE, "int8"));
        for (String frag : new String[] {BASE + ".int8.safetensors", BASE + ".safetensors.index.int8.json", BASE + ".safetensors,"}) {
            assertTrue(e2.getMessage().contains(frag), "'" + e2.getMessage() + "' lacks '" + frag + "'");
        }
        assertEquals(ModelFiles.Layout.SHARDED, ModelFiles.find(two, BASE, "bf16").layout());

        Path empty = folder("empty");
        assertThrows(IllegalArgumentException.class, () -> ModelFiles.find(empty, BASE, null));
        IllegalArgumentException e3 = assertThrows(IllegalArgumentException.class, () -> ModelFiles.find(dir.resolve("nowhere"), BASE, null));
        assertTrue(e3.getMessage().contains("does not exist"), e3.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ModelFiles.find(both, BASE, "fp.16"));
        assertThrows(IllegalArgumentException.class, () -> ModelFiles.find(both, "", null));
    }

    /** Every component folder of the fixture models resolves to its weights. */
    @Test
    void fixtureComponentsResolve() throws IOException {
        int found = 0;
        for (String model : new String[] {"sdxl-base", "sdxl-refiner", "sdxl-inpaint"}) {
            Path m = Fixtures.path(model);
            if (!Files.isDirectory(m)) continue;
            try (var s = Files.list(m)) {
                for (Path comp : s.filter(Files::isDirectory).sorted().toList()) {
                    String base = Files.exists(comp.resolve("model.safetensors")) ? ModelFiles.TRANSFORMERS : ModelFiles.DIFFUSERS;
                    if (!Files.exists(comp.resolve(base + ".safetensors"))) continue; // tokenizer/, scheduler/
                    try (SafetensorsWeights w = ModelFiles.find(comp, base, "fp16").open()) {
                        assertFalse(w.keys().isEmpty(), comp.toString());
                        found++;
                    }
                }
            }
        }
        assertTrue(found >= 4, found + " components");
    }
}
