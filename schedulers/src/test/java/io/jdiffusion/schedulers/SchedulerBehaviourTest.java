package io.jdiffusion.schedulers;

import io.jdiffusion.tensor.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Configuration handling, bad input, step-index bookkeeping and generator use (spec §6, §8.5). */
class SchedulerBehaviourTest {
    private static final List<Function<SchedulerConfig, Scheduler>> ALL = List.of(
            EulerDiscreteScheduler::new, EulerAncestralDiscreteScheduler::new, DDIMScheduler::new,
            DPMSolverMultistepScheduler::new);

    private static SchedulerConfig base() {
        return SchedulerConfig.readDir(Fixtures.path("sdxl-base/scheduler"));
    }

    // ---- configuration ----

    @Test
    void readsTheModelFolderConfigAndIgnoresUnknownKeys() {
        Scheduler s = Schedulers.fromPretrained(Fixtures.path("sdxl-base/scheduler"));
        SchedulerConfig c = base();
        assertInstanceOf(Schedulers.create(c.className(), c).getClass(), s);
        assertEquals(c.numTrainTimesteps(), s.numTrainTimesteps());

        SchedulerConfig parsed = SchedulerConfig.parse("""
                {"beta_schedule": "scaled_linear", "some_future_key": [1, 2], "lambda_min_clipped": -Infinity,
                 "sigma_min": null}""");
        assertEquals("scaled_linear", parsed.betaSchedule());
        assertEquals(Double.NEGATIVE_INFINITY, parsed.lambdaMinClipped());
        assertNull(parsed.sigmaMin());
        assertNull(parsed.timestepSpacing());
    }

    @Test
    void overridesWorkLikeFromConfigKeywordArguments() {
        SchedulerConfig c = base().with(Map.of("use_karras_sigmas", true, "timestep_spacing", "trailing"));
        assertEquals(true, c.useKarrasSigmas());
        assertEquals("trailing", c.timestepSpacing());
        assertEquals(base().betaStart(), c.betaStart());
        assertNull(base().with("beta_start", null).betaStart());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> base().with("use_karas_sigmas", true));
        assertTrue(e.getMessage().contains("use_karas_sigmas"), e.getMessage());
    }

    @Test
    void absentKeysTakeEachSchedulersDiffusersDefaults() {
        SchedulerConfig empty = SchedulerConfig.defaults();
        // DDIM defaults to "leading" spacing with offset 0; Euler to "linspace"
        DDIMScheduler d = new DDIMScheduler(empty);
        d.setTimesteps(4);
        assertArrayEquals(new float[]{750, 500, 250, 0}, d.timesteps());
        EulerDiscreteScheduler e = new EulerDiscreteScheduler(empty);
        e.setTimesteps(4);
        assertArrayEquals(new float[]{999, 666, 333, 0}, e.timesteps());
        // DDIM's default clip_sample=true clamps x0 to [-1, 1]; the SDXL config turns it off
        d.setTimesteps(10);
        float[] x = {50f}, eps = {0f};
        assertEquals(1f, d.step(eps, d.timesteps()[0], x, null).predOriginalSample()[0]);
        DDIMScheduler sdxl = new DDIMScheduler(base());
        sdxl.setTimesteps(10);
        assertTrue(sdxl.step(eps, sdxl.timesteps()[0], x, null).predOriginalSample()[0] > 1f);
    }

    // ---- bad input ----

    @Test
    void stepCountsOutsideOneToNumTrainTimestepsAreRejected() {
        for (Function<SchedulerConfig, Scheduler> f : ALL) {
            Scheduler s = f.apply(base());
            int numTrain = s.numTrainTimesteps();
            for (int bad : new int[]{0, -3, numTrain + 1}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.setTimesteps(bad));
                assertTrue(e.getMessage().contains("numInferenceSteps") && e.getMessage().contains(String.valueOf(numTrain))
                        && e.getMessage().contains(String.valueOf(bad)), e.getMessage());
            }
            s.setTimesteps(numTrain); // the maximum is allowed
            assertEquals(numTrain, s.timesteps().length);
        }
    }

    @Test
    void unknownEnumValuesNameTheKeyAndTheAllowedValues() {
        check("beta_schedule", "cosine", "linear", "scaled_linear", "squaredcos_cap_v2");
        check("timestep_spacing", "uniform", "linspace", "leading", "trailing");
        check("prediction_type", "flow", "epsilon", "v_prediction");
    }

    private static void check(String key, String badValue, String... allowed) {
        for (Function<SchedulerConfig, Scheduler> f : ALL) {
            SchedulerConfig c = base().with(key, badValue);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> f.apply(c));
            String m = e.getMessage();
            assertTrue(m.contains(key) && m.contains(badValue), m);
            for (String a : allowed) assertTrue(m.contains(a), m + " should list " + a);
        }
    }

    @Test
    void otherUnsupportedOptionsAreRejectedClearly() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new EulerDiscreteScheduler(base().with("interpolation_type", "cubic")));
        assertTrue(e.getMessage().contains("interpolation_type") && e.getMessage().contains("log_linear"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new DPMSolverMultistepScheduler(base().with("algorithm_type", "sde-dpmsolver++")));
        assertTrue(e.getMessage().contains("algorithm_type") && e.getMessage().contains("dpmsolver++"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new DPMSolverMultistepScheduler(base().with("final_sigmas_type", "one")));
        assertTrue(e.getMessage().contains("final_sigmas_type") && e.getMessage().contains("sigma_min"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Schedulers.create("LMSDiscreteScheduler", base()));
        assertTrue(e.getMessage().contains("LMSDiscreteScheduler") && e.getMessage().contains("EulerDiscreteScheduler"), e.getMessage());
    }

    @Test
    void usingAScheduleBeforeSetTimestepsFails() {
        EulerDiscreteScheduler s = new EulerDiscreteScheduler(base());
        assertThrows(IllegalStateException.class, s::timesteps);
        assertThrows(IllegalStateException.class, () -> s.scaleModelInput(new float[4], 1f));
        s.setTimesteps(10);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.scaleModelInput(new float[4], 500.5f));
        assertTrue(e.getMessage().contains("500.5"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> s.step(new float[3], s.timesteps()[0], new float[4], null));
        assertThrows(UnsupportedOperationException.class, () -> new DDIMScheduler(base()).sigmas());
    }

    // ---- step index, begin index, add_noise ----

    @Test
    void beginIndexDecidesTheFirstSigmaAndAddNoiseLevel() {
        EulerDiscreteScheduler s = new EulerDiscreteScheduler(base());
        s.setTimesteps(20);
        float[] sig = s.sigmas(), ts = s.timesteps();
        float[] x0 = {0.5f, -1f}, n = {2f, 3f};
        // img2img: add_noise before the first step uses sigmas[begin]
        s.setBeginIndex(7);
        float[] noisy = s.addNoise(x0, n, ts[7]);
        for (int i = 0; i < 2; i++) assertEquals(x0[i] + n[i] * sig[7], noisy[i], 0f);
        // the first scale_model_input/step use index 7 whatever t is passed (diffusers uses begin_index)
        float[] in = s.scaleModelInput(x0, ts[7]);
        float d = (float) Math.sqrt(sig[7] * sig[7] + 1f);
        for (int i = 0; i < 2; i++) assertEquals(x0[i] / d, in[i], 0f);
        assertEquals(7, s.stepIndex());
        s.step(new float[]{0.1f, 0.2f}, ts[7], x0, null);
        assertEquals(8, s.stepIndex());
        // inpaint re-noising after steps began uses the current step index
        noisy = s.addNoise(x0, n, ts[3]);
        for (int i = 0; i < 2; i++) assertEquals(x0[i] + n[i] * sig[8], noisy[i], 0f);
        // set_timesteps resets both
        s.setTimesteps(20);
        assertEquals(-1, s.beginIndex());
        assertEquals(-1, s.stepIndex());
        // without a begin index, add_noise and the first step locate t in the schedule
        noisy = s.addNoise(x0, n, ts[4]);
        for (int i = 0; i < 2; i++) assertEquals(x0[i] + n[i] * sig[4], noisy[i], 0f);
        s.scaleModelInput(x0, ts[5]);
        assertEquals(5, s.stepIndex());
    }

    @Test
    void duplicatedTimestepsResolveToTheSecondOccurrence() {
        // DPM++ Karras at many steps repeats its final integer timesteps
        DPMSolverMultistepScheduler s = new DPMSolverMultistepScheduler(base().with("use_karras_sigmas", true));
        int n = 200;
        s.setTimesteps(n);
        float[] ts = s.timesteps();
        int first = -1, second = -1;
        for (int i = 0; i < ts.length && second < 0; i++) {
            for (int j = i + 1; j < ts.length; j++) {
                if (ts[j] == ts[i]) { first = i; second = j; break; }
            }
        }
        assertTrue(first >= 0, "expected a repeated timestep in " + java.util.Arrays.toString(ts));
        s.step(new float[]{0f}, ts[first], new float[]{1f}, null);
        assertEquals(second + 1, s.stepIndex(), "the step taken at the repeated timestep was its second occurrence");
    }

    @Test
    void eulerStepIsTheDocumentedUpdate() {
        // independent double-precision evaluation of spec §6.2 (epsilon and v-prediction)
        for (String pred : new String[]{"epsilon", "v_prediction"}) {
            EulerDiscreteScheduler s = new EulerDiscreteScheduler(base().with("prediction_type", pred));
            s.setTimesteps(10);
            float[] sig = s.sigmas();
            float[] x = {0.3f, -1.7f, 4f}, eps = {0.9f, -0.2f, 0.05f};
            float[] got = s.step(eps, s.timesteps()[2], x, null).prevSample();
            double sg = sig[2], next = sig[3];
            for (int i = 0; i < x.length; i++) {
                double x0 = pred.equals("epsilon") ? x[i] - sg * eps[i]
                        : eps[i] * (-sg / Math.sqrt(sg * sg + 1)) + x[i] / (sg * sg + 1);
                double want = x[i] + (x[i] - x0) / sg * (next - sg);
                assertEquals(want, got[i], 1e-5 * Math.max(1, Math.abs(want)), pred + " element " + i);
            }
        }
    }

    @Test
    void ddimWithEtaAddsScaledNoise() {
        DDIMScheduler s = new DDIMScheduler(base());
        s.setTimesteps(10);
        s.setEta(1.0);
        float[] ts = s.timesteps();
        int t = (int) ts[3], prev = t - s.numTrainTimesteps() / 10;
        float[] x = {0.4f, -0.8f}, eps = {0.1f, 0.3f};
        float[] z = {1.5f, -0.5f};
        float[] got = s.step(eps, t, x, dst -> System.arraycopy(z, 0, dst, 0, dst.length)).prevSample();
        TrainingSchedule tables = TrainingSchedule.of(base(), false);
        double a = tables.alphasCumprod[t], ap = tables.alphasCumprod[prev];
        double var = (1 - ap) / (1 - a) * (1 - a / ap), std = Math.sqrt(var);
        for (int i = 0; i < 2; i++) {
            double x0 = (x[i] - Math.sqrt(1 - a) * eps[i]) / Math.sqrt(a);
            double want = Math.sqrt(ap) * x0 + Math.sqrt(1 - ap - var) * eps[i] + std * z[i];
            assertEquals(want, got[i], 1e-5, "element " + i);
        }
        assertThrows(IllegalArgumentException.class, () -> s.step(eps, t, x, null));
    }

    // ---- generator use (spec §8.5) ----

    @Test
    void onlyStochasticStepsConsumeTheGenerator() {
        for (Function<SchedulerConfig, Scheduler> f : ALL) {
            Scheduler s = f.apply(base());
            s.setTimesteps(5);
            int[] calls = {0};
            int[] sizes = {0};
            NoiseSource counting = dst -> {
                calls[0]++;
                sizes[0] = dst.length;
                java.util.Arrays.fill(dst, 0.25f);
            };
            float[] x = new float[32];
            java.util.Arrays.fill(x, 0.5f);
            for (float t : s.timesteps()) {
                float[] in = s.scaleModelInput(x, t);
                x = s.step(in, t, x, counting).prevSample();
            }
            boolean ancestral = s instanceof EulerAncestralDiscreteScheduler;
            assertEquals(ancestral ? 5 : 0, calls[0], s.getClass().getSimpleName() + " generator draws");
            if (ancestral) assertEquals(32, sizes[0], "one latent-sized draw per step");
        }
        EulerAncestralDiscreteScheduler a = new EulerAncestralDiscreteScheduler(base());
        a.setTimesteps(3);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> a.step(new float[2], a.timesteps()[0], new float[2], null));
        assertTrue(e.getMessage().contains("NoiseSource"), e.getMessage());
    }

    // ---- training tables (spec §6.1) ----

    @Test
    void trainingTablesMatchTheSpecCheckValues() {
        TrainingSchedule t = TrainingSchedule.of(SchedulerConfig.parse("""
                {"num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear"}"""), true);
        assertEquals(0x1.ff9096p-1f, t.alphasCumprod[0]);
        assertEquals(0x1.ff20a8p-1f, t.alphasCumprod[1]);
        assertEquals(0x1.31676cp-8f, t.alphasCumprod[999]);
        float[] sig = t.sigmas();
        assertEquals(0.029168, sig[0], 1e-6);
        assertEquals(14.614647, sig[999], 1e-5);
    }

    @Test
    void linearAndCosineBetaSchedulesFollowTheirFormulas() {
        SchedulerConfig lin = SchedulerConfig.parse("""
                {"num_train_timesteps": 100, "beta_start": 0.001, "beta_end": 0.02, "beta_schedule": "linear"}""");
        TrainingSchedule t = TrainingSchedule.of(lin, true);
        double prod = 1;
        for (int i = 0; i < 100; i++) {
            double beta = 0.001 + (0.02 - 0.001) * i / 99;
            assertEquals(beta, t.betas[i], 1e-8, "linear beta " + i);
            prod *= 1 - beta;
            assertEquals(prod, t.alphasCumprod[i], 1e-6, "linear alphas_cumprod " + i);
        }
        TrainingSchedule c = TrainingSchedule.of(SchedulerConfig.parse("""
                {"num_train_timesteps": 50, "beta_schedule": "squaredcos_cap_v2"}"""), true);
        for (int i = 0; i < 50; i++) {
            double f1 = Math.pow(Math.cos(((double) i / 50 + 0.008) / 1.008 * Math.PI / 2), 2);
            double f2 = Math.pow(Math.cos(((double) (i + 1) / 50 + 0.008) / 1.008 * Math.PI / 2), 2);
            assertEquals(Math.min(1 - f2 / f1, 0.999), c.betas[i], 1e-7, "cosine beta " + i);
        }
    }
}
