package io.jdiffusion.pipelines;

import io.jdiffusion.pipelines.image.Image;
import io.jdiffusion.pipelines.image.ImageFiles;
import io.jdiffusion.tensor.cpu.CpuBackend;
import io.jdiffusion.tensor.testing.Fixtures;
import io.jdiffusion.tensor.testing.TruncatedCopy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fluent API refuses bad settings with a message naming the setting, before any weight is
 * read: the model here has a corrupt UNet file, so getting past validation would fail differently.
 */
class ValidationTest {
    @TempDir
    static Path tmp;
    static SdxlModel broken;
    static Image image, mask;

    @BeforeAll
    static void setUp() throws Exception {
        Path copy = TruncatedCopy.of(Fixtures.path("sdxl-base"), tmp.resolve("broken"), "unet/diffusion_pytorch_model.safetensors", 64);
        broken = SdxlModel.load(copy.toString(), null, CpuBackend.INSTANCE);
        image = ImageFiles.read(Fixtures.path("init.png"));
        mask = ImageFiles.read(Fixtures.path("mask.png"));
    }

    @AfterAll
    static void close() { broken.close(); }

    static void rejected(String name, Executable e) {
        IllegalArgumentException x = assertThrows(IllegalArgumentException.class, e);
        assertTrue(x.getMessage().contains(name), "message names " + name + ": " + x.getMessage());
    }

    @Test
    void badSettingsAreNamed() {
        rejected("denoisingStart", () -> Img2ImgPipeline.of(broken).image(image).denoisingStart(0.8).denoisingEnd(0.5).run());
        rejected("denoisingStart", () -> Img2ImgPipeline.of(broken).image(image).denoisingStart(0.5).denoisingEnd(0.5).run());
        rejected("strength", () -> InpaintPipeline.of(broken).strength(0));
        rejected("strength", () -> InpaintPipeline.of(broken).strength(1.01));
        rejected("width", () -> Text2ImagePipeline.of(broken).size(100, 64));
        rejected("height", () -> Text2ImagePipeline.of(broken).size(64, 60));
        rejected("highNoiseFraction", () -> Text2ImagePipeline.of(broken).refiner(broken).run());
        rejected("highNoiseFraction", () -> Text2ImagePipeline.of(broken).highNoiseFraction(1.0));
        rejected("scheduler", () -> Text2ImagePipeline.of(broken).scheduler("lms"));
        rejected("steps", () -> Text2ImagePipeline.of(broken).steps(0));
        rejected("guidance", () -> Text2ImagePipeline.of(broken).guidance(Double.NaN));
        rejected("negativePrompt", () -> Text2ImagePipeline.of(broken).prompt("a", "b").negativePrompt("x").run());
        rejected("mask", () -> InpaintPipeline.of(broken).image(image).run());
        rejected("image", () -> InpaintPipeline.of(broken).mask(mask).run());
        rejected("dilate kernel", () -> InpaintPipeline.of(broken).dilate(0, 1));
        rejected("outpaint", () -> InpaintPipeline.of(broken).outpaint(-1, 0, 0, 0, 0));
        Image other = Image.filled(image.width() / 2, image.height(), 255);
        rejected("mask size", () -> InpaintPipeline.of(broken).image(image).mask(other).run());
        rejected("config.json", () -> InpaintPipeline.of(broken).unetOverride(tmp.resolve("nowhere")));
    }

    @Test
    void missingModelFoldersAndComponentsAreNamed() throws Exception {
        rejected("no such file or folder", () -> SdxlModel.load(tmp.resolve("absent").toString(), null, CpuBackend.INSTANCE));
        Path partial = Files.createDirectories(tmp.resolve("partial"));
        Files.writeString(partial.resolve("model_index.json"), "{}");
        for (String c : new String[] {"unet", "vae", "scheduler", "text_encoder_2"}) Files.createDirectories(partial.resolve(c));
        rejected("tokenizer_2", () -> SdxlModel.load(partial.toString(), null, CpuBackend.INSTANCE));
    }
}
