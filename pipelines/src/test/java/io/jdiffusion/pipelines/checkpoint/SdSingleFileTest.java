package io.jdiffusion.pipelines.checkpoint;

import io.jdiffusion.pipelines.GenerationResult;
import io.jdiffusion.pipelines.ModelFamily;
import io.jdiffusion.pipelines.SdModel;
import io.jdiffusion.pipelines.SdPipeline;
import io.jdiffusion.pipelines.SdxlModel;
import io.jdiffusion.pipelines.image.ImageFiles;
import io.jdiffusion.schedulers.SchedulerConfig;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.testing.Fixtures;
import io.jdiffusion.tensor.testing.SdFixtures;
import io.jdiffusion.tensor.weights.Params;
import io.jdiffusion.text.CLIPTextConfig;
import io.jdiffusion.text.CLIPTextModel;
import io.jdiffusion.unet.UNet2DConditionConfig;
import io.jdiffusion.unet.UNet2DConditionModel;
import io.jdiffusion.vae.AutoencoderKL;
import io.jdiffusion.vae.VaeConfig;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SD 1/2 single-file checkpoints (CompVis/Stability layout): each SD fixture folder written as one
 * file by {@link SingleFileWriter} (SD 2's text encoder as OpenCLIP with fused in_proj, an extra last
 * resblock and text_projection, as real SD 2 files hold) is detected as SD 1 / SD 2 by its keys, and
 * runs to the same image as the folder (4-channel txt2img and 9-channel inpaint); the bundled official
 * configs build models of the official sizes.
 */
class SdSingleFileTest {
    @TempDir
    static Path tmp;

    @TestFactory
    Stream<DynamicTest> singleFileRunsLikeTheFolder() {
        return SdFixtures.sets().stream().flatMap(set -> Stream.of(
                DynamicTest.dynamicTest(set + " txt2img", () -> txt2img(set)),
                DynamicTest.dynamicTest(set + " 9-channel inpaint", () -> inpaint9(set))));
    }

    private static Layout layout(SdFixtures.Set set) { return set.family().equals("sd15") ? Layout.SD1 : Layout.SD2; }

    private static void txt2img(SdFixtures.Set set) {
        Path file = tmp.resolve(set + ".safetensors");
        SingleFileWriter.write(set.path("sd"), layout(set), file);
        try (SingleFileCheckpoint c = SingleFileCheckpoint.open(file)) {
            assertEquals(layout(set), c.layout(), "detected from the keys");
            assertEquals(4, c.unetInChannels());
            if (c.layout() == Layout.SD2) {
                assertTrue(c.originalKeys(Component.TEXT_ENCODER).stream().anyMatch(k -> k.endsWith("attn.in_proj_weight")), "fused q/k/v");
                assertTrue(c.originalKeys(Component.TEXT_ENCODER).contains("cond_stage_model.model.text_projection"));
            }
        }
        assertEquals(ModelFamily.SD, ModelFamily.ofModel(file.toString()));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SdxlModel.load(file.toString()));
        assertTrue(e.getMessage().contains("Stable Diffusion") && e.getMessage().contains("SdModel"), e.getMessage());
        GenerationResult folder, single;
        try (SdModel m = SdModel.load(set.path("sd").toString(), Fixtures.backend())) {
            folder = SdPipeline.txt2img(m).prompt("a purple octopus").size(48, 64).steps(3).seed(3).clipSkip(1).run();
        }
        try (SdModel m = SdModel.load(file.toString(), set.path("sd"), null, Fixtures.backend())) {
            single = SdPipeline.txt2img(m).prompt("a purple octopus").size(48, 64).steps(3).seed(3).clipSkip(1).run();
            assertEquals(set.path("sd").toAbsolutePath().normalize().toString(), single.record().configs().get("base"), "recorded configs");
        }
        assertArrayEquals(folder.nhwc01(), single.nhwc01(), set + ": the single file gives the folder's image");
        assertEquals(folder.record().family(), single.record().family());
    }

    /** A folder with the set's model and its 9-channel UNet, written as one file: its conv_in says inpainting. */
    private static void inpaint9(SdFixtures.Set set) throws IOException {
        Path folder = tmp.resolve(set + "-inpaint");
        copyTree(set.path("sd"), folder);
        deleteTree(folder.resolve("unet"));
        copyTree(set.path("sd-inpaint/unet"), folder.resolve("unet"));
        Path file = tmp.resolve(set + "-inpaint.safetensors");
        SingleFileWriter.write(folder, layout(set), file);
        try (SingleFileCheckpoint c = SingleFileCheckpoint.open(file)) {
            assertEquals(9, c.unetInChannels());
        }
        var image = ImageFiles.read(set.path("init.png"));
        var mask = ImageFiles.read(set.path("mask.png"));
        GenerationResult a, b;
        try (SdModel m = SdModel.load(set.path("sd").toString(), Fixtures.backend())) {
            a = SdPipeline.inpaint(m).unet(set.path("sd-inpaint/unet")).image(image).mask(mask).prompt("a purple octopus").steps(3).seed(4).run();
        }
        try (SdModel m = SdModel.load(file.toString(), folder, null, Fixtures.backend())) {
            b = SdPipeline.inpaint(m).image(image).mask(mask).prompt("a purple octopus").steps(3).seed(4).run();
        }
        assertArrayEquals(a.nhwc01(), b.nhwc01(), set + ": the 9-channel single file inpaints as the folder with its inpainting UNet");
    }

    /**
     * The bundled configs: SD 1.5 and SD 2.1 at their official sizes (parameter counts as diffusers 0.40 and
     * transformers 5.17 count them for these config files on the meta device), the 9-channel and the 768 px
     * v-prediction variants as diffusers' single-file loader picks them.
     */
    @Test
    void bundledConfigsDescribeTheOfficialModels() {
        long[][] counts = {{859_520_964L, 83_653_863L, 123_060_480L}, {865_910_724L, 83_653_863L, 340_387_840L}};
        Layout[] layouts = {Layout.SD1, Layout.SD2};
        for (int i = 0; i < 2; i++) {
            Path f = BuiltinConfigs.sdFolder(layouts[i], false, false);
            assertEquals(ModelFamily.SD, ModelFamily.of(f));
            Params u = Params.shapesOnly("unet", DType.F16);
            new UNet2DConditionModel(UNet2DConditionConfig.load(f.resolve("unet/config.json")), u);
            Params v = Params.shapesOnly("vae", DType.F16);
            new AutoencoderKL(VaeConfig.load(f.resolve("vae/config.json")), v);
            Params t = Params.shapesOnly("text_encoder", DType.F16);
            new CLIPTextModel(CLIPTextConfig.read(f.resolve("text_encoder/config.json")), t);
            assertArrayEquals(counts[i], new long[] {count(u), count(v), count(t)}, layouts[i] + " unet, vae, text encoder parameters");
            assertTrue(Files.isRegularFile(f.resolve("tokenizer/vocab.json")));
        }
        Path inpaint = BuiltinConfigs.sdFolder(Layout.SD1, true, false);
        assertEquals(9, UNet2DConditionConfig.load(inpaint.resolve("unet/config.json")).inChannels());
        Path v = BuiltinConfigs.sdFolder(Layout.SD2, false, true);
        assertEquals("v_prediction", SchedulerConfig.readDir(v.resolve("scheduler")).predictionType());
        assertEquals("epsilon", SchedulerConfig.readDir(BuiltinConfigs.sdFolder(Layout.SD2, false, false).resolve("scheduler")).predictionType());
        assertThrows(IllegalArgumentException.class, () -> BuiltinConfigs.sdFolder(Layout.SD1, false, true));
    }

    private static long count(Params p) {
        long n = 0;
        for (int[] s : p.requested().values()) {
            long k = 1;
            for (int d : s) k *= d;
            n += k;
        }
        return n;
    }

    static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(t);
                else Files.copy(p, t);
            }
        }
    }

    private static void deleteTree(Path p) throws IOException {
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(x);
        }
    }
}
