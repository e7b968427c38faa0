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

    /**
     * The cases to run: {@code -Djdiffusion.pipelineCases=pipe/a,pipe/b} (the emulated CUDA step of CI runs
     * the cheap ones), else all.
     */
    static java.util.function.Predicate<String> chosenCases() {
        String only = System.getProperty("jdiffusion.pipelineCases", "");
        if (only.isBlank()) return name -> true;
        List<String> names = java.util.Arrays.stream(only.split(",")).map(String::trim).filter(n -> !n.isEmpty()).toList();
        return names::contains;
    }

    @TestFactory
    Stream<DynamicTest> everyPipelineCase() {
        List<DynamicTest> tests = new ArrayList<>();
        java.util.function.Predicate<String> chosen = chosenCases();
        for (Map.Entry<String, JsonNode> e : Fixtures.reference().path("cases").properties()) {
            if (!e.getKey().startsWith("pipe/") || !chosen.test(e.getKey())) continue;
            tests.add(DynamicTest.dynamicTest(e.getKey(), () -> replay(e.getKey(), e.getValue())));
        }
        if (tests.isEmpty()) throw new AssertionError("reference.json has no pipe/* cases" + (chosenCases().test("") ? "" : " of those chosen"));
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
            TensorAssert.assertClose(name + " step " + i + " latents", exp, steps.get(i), tolerance(c, 1e-4));
        }
        Tensor expected = Fixtures.tensor(outKey);
        float[] actual = r.latents() != null ? r.latents() : r.nhwc01();
        assertArrayEquals(expected.shape(), r.shape(), name + ": output shape");
        TensorAssert.Diff d = TensorAssert.assertClose(name + " output", expected.toFloatArray(), actual,
                tolerance(c, "latent".equals(c.path("output_type").asText()) ? 1e-4 : 1e-3));
        System.out.println(name + ": output " + d);
    }

    /**
     * The tolerance of a case on {@link Fixtures#backend()}: {@code f32Tolerance} in F32. On a 16-bit
     * device the UNet's outputs carry their storage's rounding ({@link Fixtures#tolerance}: 2e-2 in F16,
     * 1e-1 in BF16, per module), and classifier-free guidance combines two of them as
     * (1 + g)·cond − g·uncond, so what reaches the latents can be (1 + 2g) times as large: 16× at the
     * fixtures' g = 7.5 (diffusers' own fp16 pipelines do the same combination, in fp16).
     */
    static double tolerance(JsonNode c, double f32Tolerance) {
        double perModule = Fixtures.tolerance(f32Tolerance);
        if (Fixtures.backend().computeType() == io.jdiffusion.tensor.DType.F32) return perModule;
        double g = c.path("guidance_scale").asDouble(1.0);
        return g > 1 ? perModule * (1 + 2 * g) : perModule;
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
