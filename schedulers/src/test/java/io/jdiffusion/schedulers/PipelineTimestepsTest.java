package io.jdiffusion.schedulers;

import com.fasterxml.jackson.databind.JsonNode;
import io.jdiffusion.tensor.testing.Fixtures;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * The timesteps every {@code pipe/*} fixture case actually ran ({@code step_timesteps}, recorded by
 * diffusers' step callback) must be what the model's scheduler config plus {@link TimestepPlan} give for
 * that case's arguments: strength, denoising_start and denoising_end, including the hand-off cases.
 */
class PipelineTimestepsTest {
    /** diffusers' pipeline defaults for {@code strength} (img2img 0.3, inpaint 0.9999). */
    private static final Map<String, Double> DEFAULT_STRENGTH = Map.of(
            "StableDiffusionXLImg2ImgPipeline", 0.3, "StableDiffusionXLInpaintPipeline", 0.9999);

    @TestFactory
    List<DynamicTest> everyPipelineCaseRunsThePlannedTimesteps() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Map.Entry<String, JsonNode> e : Fixtures.reference().get("cases").properties()) {
            String key = e.getKey() + "/step_timesteps";
            if (!e.getKey().startsWith("pipe/") || !Fixtures.has(key)) continue;
            tests.add(DynamicTest.dynamicTest(e.getKey(), () -> check(e.getValue(), key)));
        }
        assertFalse(tests.isEmpty(), "reference.json has no pipeline case with step_timesteps");
        return tests;
    }

    private static void check(JsonNode c, String key) {
        SchedulerConfig config = SchedulerConfig.readDir(Fixtures.path(c.get("model").asText() + "/scheduler"));
        Scheduler s = Schedulers.create(c.get("scheduler").asText(), config);
        int n = c.get("num_inference_steps").asInt();
        s.setTimesteps(n);
        String pipeline = c.get("pipeline").asText();
        Double start = c.has("denoising_start") ? c.get("denoising_start").asDouble() : null;
        Double end = c.has("denoising_end") ? c.get("denoising_end").asDouble() : null;
        TimestepPlan plan = switch (pipeline) {
            case "StableDiffusionXLPipeline" -> TimestepPlan.text2img(s, end);
            case "StableDiffusionXLImg2ImgPipeline", "StableDiffusionXLInpaintPipeline" -> {
                double strength = c.has("strength") ? c.get("strength").asDouble() : DEFAULT_STRENGTH.get(pipeline);
                yield TimestepPlan.img2img(s, n, strength, start, end);
            }
            default -> throw new AssertionError("pipeline " + pipeline + " is unknown to this test");
        };
        float[] want = Fixtures.tensors().floats(key);
        assertArrayEquals(want, plan.timesteps(), c.get("pipeline").asText() + ": ran " + Arrays.toString(want)
                + ", planned " + plan);
    }
}
