package io.jdiffusion.pipelines.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import io.jdiffusion.pipelines.PipelineFixtureTest;
import io.jdiffusion.pipelines.SdxlModel;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.cpu.CpuBackend;
import io.jdiffusion.tensor.safetensors.SafetensorsFile;
import io.jdiffusion.tensor.safetensors.SafetensorsWriter;
import io.jdiffusion.tensor.testing.Fixtures;
import io.jdiffusion.tensor.weights.ModelFiles;
import io.jdiffusion.tensor.weights.WeightException;
import io.jdiffusion.tensor.weights.WeightSource;
import io.jdiffusion.unet.UNet2DConditionConfig;
import io.jdiffusion.vae.VaeConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Stability single-file checkpoints: detection, bit-exact loading, the full-size key map both ways, rejections. */
class SingleFileCheckpointTest {
    @TempDir
    Path tmp;

    /** diffusers' own conversion of the base folder; a fixture set without it skips these tests, naming it. */
    static Path singleFile() { return Fixtures.required("sdxl-base-single-file.safetensors"); }

    static Path baseFolder() { return Fixtures.path("sdxl-base"); }

    static int stride(Path folder) {
        return UNet2DConditionConfig.load(folder.resolve("unet/config.json")).layersPerBlock()[0] + 1;
    }

    static int vaeLevels(Path folder) { return VaeConfig.load(folder.resolve("vae/config.json")).levels(); }

    static WeightSource folderWeights(Component c) {
        String base = c == Component.UNET || c == Component.VAE ? ModelFiles.DIFFUSERS : ModelFiles.TRANSFORMERS;
        UnaryOperator<String> rename = c == Component.TEXT_ENCODER
                ? k -> k.startsWith("text_model.") ? k.substring("text_model.".length()) : k : UnaryOperator.identity();
        return ModelFiles.open(baseFolder().resolve(c.folder()), base, null, rename);
    }

    @Test
    void singleFileGivesTheFolderWeightsBitForBit() {
        try (SingleFileCheckpoint ckpt = SingleFileCheckpoint.open(singleFile())) {
            assertEquals(Layout.BASE, ckpt.layout());
            long compared = 0;
            for (Component c : Component.values()) {
                try (WeightSource folder = folderWeights(c)) {
                    WeightSource single = ckpt.component(c, stride(baseFolder()), vaeLevels(baseFolder()));
                    Set<String> expected = new TreeSet<>(folder.keys());
                    expected.removeIf(k -> OriginalKeys.ignored(c, k));
                    assertEquals(expected, new TreeSet<>(single.keys()), c + ": same key set");
                    for (String k : expected) {
                        Tensor a = folder.tensor(k), b = single.tensor(k);
                        assertEquals(a.dtype(), b.dtype(), c + " " + k + " dtype");
                        assertArrayEquals(a.shape(), b.shape(), c + " " + k + " shape");
                        float[] x = a.toFloatArray(), y = b.toFloatArray();
                        for (int i = 0; i < x.length; i++) {
                            if (Float.floatToRawIntBits(x[i]) != Float.floatToRawIntBits(y[i])) {
                                throw new AssertionError(c + " " + k + "[" + i + "]: folder " + x[i] + ", single file " + y[i]);
                            }
                        }
                        compared += x.length;
                    }
                }
            }
            assertTrue(compared > 0);
        }
    }

    @Test
    void singleFileRunsTheTxt2ImgCaseLikeTheFolder() {
        JsonNode c = Fixtures.reference().path("cases").path("pipe/txt2img");
        try (SdxlModel m = SdxlModel.load(singleFile().toString(), baseFolder(), CpuBackend.INSTANCE)) {
            PipelineFixtureTest.replayWith(m, "pipe/txt2img (single file)", c);
        }
    }

    @Test
    void writerRoundTripsTheFixtureSingleFile() throws Exception {
        Path out = tmp.resolve("written.safetensors");
        SingleFileWriter.write(baseFolder(), Layout.BASE, out);
        try (SafetensorsFile ours = SafetensorsFile.open(out); SafetensorsFile theirs = SafetensorsFile.open(singleFile())) {
            Set<String> theirKeys = new TreeSet<>(theirs.names());
            theirKeys.removeIf(k -> OriginalKeys.ignored(null, k.substring(k.lastIndexOf('.') + 1)) || k.endsWith("position_ids"));
            assertEquals(theirKeys, new TreeSet<>(ours.names()));
            for (String k : theirKeys) {
                assertEquals(theirs.info(k).dtype(), ours.info(k).dtype(), k);
                assertArrayEquals(theirs.info(k).shape(), ours.info(k).shape(), k);
                assertArrayEquals(theirs.bytes(k).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                        ours.bytes(k).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), k);
            }
        }
    }

    /** Every full-size diffusers key maps to an original name and back, and the original set has the expected size. */
    @Test
    void fullSizeKeysMapBothWays() {
        JsonNode keys = Fixtures.sdxlKeys();
        checkFullSize(Layout.BASE, Map.of(Component.UNET, "unet_base", Component.VAE, "vae",
                Component.TEXT_ENCODER, "clip_l", Component.TEXT_ENCODER_2, "clip_bigg"), keys);
        checkFullSize(Layout.REFINER, Map.of(Component.UNET, "unet_refiner", Component.VAE, "vae",
                Component.TEXT_ENCODER_2, "clip_bigg"), keys);
        checkFullSize(Layout.INPAINT, Map.of(Component.UNET, "unet_inpaint", Component.VAE, "vae",
                Component.TEXT_ENCODER, "clip_l", Component.TEXT_ENCODER_2, "clip_bigg"), keys);
    }

    private static void checkFullSize(Layout layout, Map<Component, String> sections, JsonNode keys) {
        int total = 0, diffusersTotal = 0;
        for (Map.Entry<Component, String> e : sections.entrySet()) {
            Component c = e.getKey();
            Set<String> diffusers = new TreeSet<>();
            keys.path(e.getValue()).fieldNames().forEachRemaining(diffusers::add);
            assertTrue(diffusers.size() > 100, e.getValue() + " present in sdxl-keys.json");
            Set<String> originals = new TreeSet<>();
            for (String k : diffusers) originals.add(OriginalKeys.toOriginal(c, k, diffusers, 3, 4).originalKey());
            Set<String> back = new TreeSet<>();
            for (String o : originals) {
                for (OriginalKeys.Mapped m : OriginalKeys.toDiffusers(c, o, 3, 4)) {
                    assertTrue(back.add(m.diffusersKey()), "two originals map to " + m.diffusersKey());
                }
            }
            assertEquals(diffusers, back, layout + " " + c + ": diffusers → original → diffusers");
            // q, k, v weights and biases (6 tensors) of every bigG layer are 2 fused tensors in the original
            int layers = (int) diffusers.stream().filter(k -> k.endsWith("self_attn.q_proj.weight")).count();
            int expected = c == Component.TEXT_ENCODER_2 ? diffusers.size() - 4 * layers : diffusers.size();
            assertEquals(expected, originals.size(), layout + " " + c + " original tensor count");
            total += originals.size();
            diffusersTotal += diffusers.size();
        }
        System.out.println(layout + ": " + diffusersTotal + " diffusers tensors <-> " + total + " original tensors");
    }

    @Test
    void unetUpsamplerPositionsFollowTheSpec() {
        JsonNode keys = Fixtures.sdxlKeys();
        Set<String> base = new TreeSet<>(), refiner = new TreeSet<>();
        keys.path("unet_base").fieldNames().forEachRemaining(base::add);
        keys.path("unet_refiner").fieldNames().forEachRemaining(refiner::add);
        assertEquals("output_blocks.2.2.conv.weight", OriginalKeys.toOriginal(Component.UNET, "up_blocks.0.upsamplers.0.conv.weight", base, 3, 4).originalKey());
        assertEquals("output_blocks.5.2.conv.weight", OriginalKeys.toOriginal(Component.UNET, "up_blocks.1.upsamplers.0.conv.weight", base, 3, 4).originalKey());
        assertEquals("output_blocks.2.1.conv.weight", OriginalKeys.toOriginal(Component.UNET, "up_blocks.0.upsamplers.0.conv.weight", refiner, 3, 4).originalKey());
        assertEquals("down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight",
                OriginalKeys.unetToDiffusers("input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight", 3));
        assertEquals("up_blocks.2.resnets.1.conv_shortcut.weight", OriginalKeys.unetToDiffusers("output_blocks.7.0.skip_connection.weight", 3));
        assertEquals("decoder.up_blocks.3.resnets.0.conv1.weight", OriginalKeys.vaeToDiffusers("decoder.up.0.block.0.conv1.weight", 4));
    }

    /** A copy of the fixture single file with one tensor changed by {@code edit}. */
    private Path doctored(String drop, String add, int[] addShape) throws Exception {
        Path out = tmp.resolve("doctored-" + System.nanoTime() + ".safetensors");
        SafetensorsWriter w = new SafetensorsWriter();
        try (SafetensorsFile f = SafetensorsFile.open(singleFile())) {
            for (String k : f.names()) if (!k.equals(drop)) w.add(k, f.tensor(k));
            if (add != null) w.add(add, io.jdiffusion.tensor.DType.F16, new float[Arrays.stream(addShape).reduce(1, (a, b) -> a * b)], addShape);
            w.write(out);
        }
        return out;
    }

    @Test
    void missingUnknownAndMisShapedTensorsAreNamed() throws Exception {
        String convIn = "model.diffusion_model.input_blocks.0.0.weight";
        int[] convShape;
        try (SafetensorsFile f = SafetensorsFile.open(singleFile())) {
            convShape = f.info(convIn).shape();
        }
        Path missing = doctored("model.diffusion_model.out.2.bias", null, null);
        try (SdxlModel m = SdxlModel.load(missing.toString(), baseFolder(), CpuBackend.INSTANCE)) {
            WeightException e = assertThrows(WeightException.class, m::unet);
            assertTrue(e.getMessage().contains("conv_out.bias"), e.getMessage());
        }
        Path unknown = doctored(null, "model.diffusion_model.mystery_block.weight", new int[] {2, 2});
        try (SdxlModel m = SdxlModel.load(unknown.toString(), baseFolder(), CpuBackend.INSTANCE)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, m::unet);
            assertTrue(e.getMessage().contains("mystery_block.weight"), e.getMessage());
        }
        int[] wrong = convShape.clone();
        wrong[0] += 1;
        Path misShaped = doctored(convIn, convIn, wrong);
        try (SdxlModel m = SdxlModel.load(misShaped.toString(), baseFolder(), CpuBackend.INSTANCE)) {
            WeightException e = assertThrows(WeightException.class, m::unet);
            assertTrue(e.getMessage().contains("conv_in.weight") && e.getMessage().contains(Arrays.toString(wrong)), e.getMessage());
            assertTrue(e.getMessage().contains(convIn), "names the original key too: " + e.getMessage());
        }
    }

    @Test
    void aFileThatIsNotSdxlSaysWhatItLooksLike() {
        Path unetFile = baseFolder().resolve("unet/diffusion_pytorch_model.safetensors");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SingleFileCheckpoint.open(unetFile));
        assertTrue(e.getMessage().contains("not an SDXL or SD 1/2 single-file checkpoint") && e.getMessage().contains("diffusers component"), e.getMessage());
    }

    @Test
    void builtInConfigsDescribeTheFullSizeModels() {
        JsonNode keys = Fixtures.sdxlKeys();
        for (Layout l : Layout.values()) {
            if (l.sd()) continue;   // SdSingleFileTest checks the SD 1/2 configs
            Path folder = BuiltinConfigs.folder(l);
            UNet2DConditionConfig cfg = UNet2DConditionConfig.load(folder.resolve("unet/config.json"));
            io.jdiffusion.tensor.weights.Params p = io.jdiffusion.tensor.weights.Params.shapesOnly("unet", io.jdiffusion.tensor.DType.F16);
            new io.jdiffusion.unet.UNet2DConditionModel(cfg, p);
            String section = switch (l) { case BASE -> "unet_base"; case REFINER -> "unet_refiner"; case INPAINT -> "unet_inpaint"; default -> throw new AssertionError(l); };
            Set<String> expected = new TreeSet<>();
            keys.path(section).fieldNames().forEachRemaining(expected::add);
            assertEquals(expected, new TreeSet<>(p.requested().keySet()), l + " built-in UNet config");
            assertTrue(Files.isRegularFile(folder.resolve("tokenizer_2/vocab.json")));
        }
    }
}
