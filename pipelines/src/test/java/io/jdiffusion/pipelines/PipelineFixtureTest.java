package io.jdiffusion.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import io.jdiffusion.pipelines.image.ImageFiles;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.testing.Fixtures;
import io.jdiffusion.tensor.testing.TensorAssert;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Replays every {@code pipe/*} case of reference.json through the public pipelines on the CPU
 * backend: each step's latents within 1e-4 and the output within 1e-3 of diffusers'. The cases,
 * prompts, sizes and models come from the fixture files, so another fixture set runs unchanged.
 */
public class PipelineFixtureTest {
    private static final Map<String, SdxlModel> MODELS = new HashMap<>();

    static SdxlModel model(String folder) {
        return MODELS.computeIfAbsent(folder, f -> SdxlModel.load(Fixtures.path(f).toString(), null, Fixtures.backend()));
    }

    @AfterAll
    static void closeModels() {
        MODELS.values().forEach(SdxlModel::close);
        MODELS.clear();
    }

    @TestFactory
    Stream<DynamicTest> everyPipelineCase() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Map.Entry<String, JsonNode> e : Fixtures.reference().path("cases").properties()) {
            if (!e.getKey().startsWith("pipe/")) continue;
            tests.add(DynamicTest.dynamicTest(e.getKey(), () -> replay(e.getKey(), e.getValue())));
        }
        if (tests.isEmpty()) throw new AssertionError("reference.json has no pipe/* cases");
        return tests.stream();
    }

    static void replay(String name, JsonNode c) { replayWith(model(c.path("model").asText()), name, c); }

    /** Runs a case on {@code model} (instead of the case's own folder) and checks it against the reference. */
    public static void replayWith(SdxlModel model, String name, JsonNode c) {
        List<float[]> steps = new ArrayList<>();
        GenerationResult r = run(model, c, steps);
        String outKey = c.path("outputs").path("output").asText();
        String stepsKey = c.path("outputs").path("step_latents").asText();
        Tensor expectedSteps = Fixtures.tensor(stepsKey);
        assertEquals(expectedSteps.dim(0), steps.size(), name + ": number of steps");
        int per = (int) (expectedSteps.numel() / expectedSteps.dim(0));
        float[] all = expectedSteps.toFloatArray();
        for (int i = 0; i < steps.size(); i++) {
            float[] exp = java.util.Arrays.copyOfRange(all, i * per, (i + 1) * per);
            TensorAssert.assertClose(name + " step " + i + " latents", exp, steps.get(i), Fixtures.tolerance(1e-4));
        }
        Tensor expected = Fixtures.tensor(outKey);
        float[] actual = r.latents() != null ? r.latents() : r.nhwc01();
        assertArrayEquals(expected.shape(), r.shape(), name + ": output shape");
        TensorAssert.Diff d = TensorAssert.assertClose(name + " output", expected.toFloatArray(), actual,
                Fixtures.tolerance("latent".equals(c.path("output_type").asText()) ? 1e-4 : 1e-3));
        System.out.println(name + ": output " + d);
    }

    /** Builds the pipeline call a case describes and runs it, collecting each step's latents. */
    static GenerationResult run(SdxlModel model, JsonNode c, List<float[]> steps) {
        String pipeline = c.path("pipeline").asText();
        SdxlPipeline<?> p = switch (pipeline) {
            case "StableDiffusionXLPipeline" -> Text2ImagePipeline.of(model);
            case "StableDiffusionXLImg2ImgPipeline" -> {
                Img2ImgPipeline i = Img2ImgPipeline.of(model);
                setImage(c, i::image, (z, s) -> i.latents(z, s[2], s[3]));
                if (c.has("strength")) i.strength(c.path("strength").asDouble());
                yield i;
            }
            case "StableDiffusionXLInpaintPipeline" -> {
                InpaintPipeline i = InpaintPipeline.of(model);
                setImage(c, i::image, (z, s) -> i.latents(z, s[2], s[3]));
                i.mask(ImageFiles.read(Fixtures.path(c.path("mask_image").path("file").asText())));
                if (c.has("strength")) i.strength(c.path("strength").asDouble());
                yield i;
            }
            default -> throw new AssertionError("unknown pipeline " + pipeline);
        };
        if (c.hasNonNull("unet_override")) p.unetOverride(Fixtures.path(c.path("unet_override").asText()));
        p.prompt(strings(c.get("prompt")));
        if (c.hasNonNull("negative_prompt")) p.negativePrompt(strings(c.get("negative_prompt")));
        if (c.has("num_inference_steps")) p.steps(c.path("num_inference_steps").asInt());
        if (c.has("guidance_scale")) p.guidance(c.path("guidance_scale").asDouble());
        if (c.has("guidance_rescale")) p.guidanceRescale(c.path("guidance_rescale").asDouble());
        if (c.has("height")) p.size(c.path("width").asInt(), c.path("height").asInt());
        if (c.has("denoising_start")) p.denoisingStart(c.path("denoising_start").asDouble());
        if (c.has("denoising_end")) p.denoisingEnd(c.path("denoising_end").asDouble());
        if (c.has("num_images_per_prompt")) p.imagesPerPrompt(c.path("num_images_per_prompt").asInt());
        String sched = c.path("scheduler").asText();
        if (sched.equals("DDIMScheduler")) p.scheduler("ddim");
        else if (!sched.equals("EulerDiscreteScheduler")) throw new AssertionError("no short name for " + sched);
        p.outputLatents("latent".equals(c.path("output_type").asText()));
        p.seed(c.path("seed").asLong());
        p.onStep((i, n, t, x) -> steps.add(x.clone()));
        return p.run();
    }

    private static void setImage(JsonNode c, java.util.function.Consumer<io.jdiffusion.pipelines.image.Image> pixels,
                                 java.util.function.BiConsumer<float[], int[]> latents) {
        JsonNode img = c.path("image");
        if (img.has("file")) {
            pixels.accept(ImageFiles.read(Fixtures.path(img.path("file").asText())));
        } else {
            Tensor z = Fixtures.tensor(img.path("latents_from").asText());
            latents.accept(z.toFloatArray(), z.shape());
        }
    }

    private static String[] strings(JsonNode n) {
        if (n.isArray()) {
            String[] s = new String[n.size()];
            for (int i = 0; i < s.length; i++) s[i] = n.get(i).asText();
            return s;
        }
        return new String[] {n.asText()};
    }
}
