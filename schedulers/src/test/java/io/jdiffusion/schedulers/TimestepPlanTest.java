package io.jdiffusion.schedulers;

import io.jdiffusion.tensor.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Spec §6.6: strength, denoising_start/denoising_end and the base → refiner hand-off. */
class TimestepPlanTest {
    private static final int[] STEP_COUNTS = {50, 40, 30, 25};
    private static final double[] FRACTIONS = {0.7, 0.8, 0.9};

    /** The SDXL scheduler config as spec §6 lists it (used for the spec's worked examples). */
    private static final String SPEC_SDXL_CONFIG = """
            {"num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
             "prediction_type": "epsilon", "timestep_spacing": "leading", "steps_offset": 1, "interpolation_type": "linear",
             "use_karras_sigmas": false, "clip_sample": false, "set_alpha_to_one": false, "sample_max_value": 1.0,
             "skip_prk_steps": true, "trained_betas": null}""";

    /** Python's {@code int(round(T - f*T))}: the double expression, rounded half to even. */
    private static int pythonCutoff(int numTrain, double f) {
        double v = numTrain - f * numTrain;
        return new BigDecimal(v).setScale(0, RoundingMode.HALF_EVEN).intValueExact();
    }

    @Test
    void baseAndRefinerSplitTheSchedule() {
        List<Scheduler> schedulers = new ArrayList<>();
        SchedulerConfig base = SchedulerConfig.readDir(Fixtures.path("sdxl-base/scheduler"));
        SchedulerConfig refiner = SchedulerConfig.readDir(Fixtures.path("sdxl-refiner/scheduler"));
        for (SchedulerConfig c : List.of(base, refiner)) {
            schedulers.add(new EulerDiscreteScheduler(c));
            schedulers.add(new EulerAncestralDiscreteScheduler(c));
            schedulers.add(new DDIMScheduler(c));
            schedulers.add(new DPMSolverMultistepScheduler(c));
            schedulers.add(new DPMSolverMultistepScheduler(c.with("use_karras_sigmas", true)));
        }
        int checked = 0;
        for (Scheduler s : schedulers) {
            for (int n : STEP_COUNTS) {
                for (double f : FRACTIONS) {
                    checkHandoff(s, n, f);
                    checked++;
                }
            }
        }
        assertEquals(schedulers.size() * STEP_COUNTS.length * FRACTIONS.length, checked);
    }

    private static void checkHandoff(Scheduler s, int n, double f) {
        String what = s.getClass().getSimpleName() + " N=" + n + " fraction=" + f;
        s.setTimesteps(n);
        float[] full = s.timesteps();
        TimestepPlan basePlan = TimestepPlan.text2img(s, f);
        TimestepPlan refinerPlan = TimestepPlan.img2img(s, n, 0.3 /* ignored: denoising_start wins */, f, null).apply(s);
        float[] b = basePlan.timesteps(), r = refinerPlan.timesteps();

        // independent expectation: the base keeps t >= cutoff, the refiner t < cutoff (spec §6.6)
        int cutoff = pythonCutoff(s.numTrainTimesteps(), f);
        List<Float> wantBase = new ArrayList<>(), wantRef = new ArrayList<>();
        for (float t : full) (t >= cutoff ? wantBase : wantRef).add(t);
        assertArrayEquals(toArray(wantBase), b, what + " base timesteps");
        assertArrayEquals(toArray(wantRef), r, what + " refiner timesteps");

        // disjoint, ordered, and together the whole schedule
        float[] joined = new float[b.length + r.length];
        System.arraycopy(b, 0, joined, 0, b.length);
        System.arraycopy(r, 0, joined, b.length, r.length);
        assertArrayEquals(full, joined, what + " base + refiner");
        // ordered: non-increasing (DPM++ Karras repeats its last integer timesteps at 50 steps, as diffusers)
        for (int i = 1; i < joined.length; i++) assertTrue(joined[i] <= joined[i - 1], what + " not decreasing at " + i);
        // disjoint: no timestep value is run by both pipelines
        for (float tb : b) for (float tr : r) assertTrue(tb != tr, what + ": both run t=" + tb);
        assertTrue(b.length > 0 && r.length > 0, what + ": both parts should be non-empty");
        // the refiner starts at the index where the base stopped, and the scheduler knows it
        assertEquals(b.length, refinerPlan.beginIndex(), what + " refiner begin index");
        if (!(s instanceof DDIMScheduler)) assertEquals(b.length, s.beginIndex(), what + " scheduler begin index");
    }

    private static float[] toArray(List<Float> l) {
        float[] a = new float[l.size()];
        for (int i = 0; i < a.length; i++) a[i] = l.get(i);
        return a;
    }

    @Test
    void specWorkedExamplesOfTheHandoff() {
        EulerDiscreteScheduler s = new EulerDiscreteScheduler(SchedulerConfig.parse(SPEC_SDXL_CONFIG));
        // N=50, e=0.8: cutoff 200, base 981…201 (40 steps); refiner 181…1 (10 steps, t_start 40)
        s.setTimesteps(50);
        TimestepPlan base = TimestepPlan.text2img(s, 0.8);
        assertEquals(40, base.steps());
        assertEquals(981f, base.timesteps()[0]);
        assertEquals(201f, base.timesteps()[39]);
        TimestepPlan ref = TimestepPlan.img2img(s, 50, 0.3, 0.8, null);
        assertEquals(40, ref.beginIndex());
        assertEquals(10, ref.steps());
        assertEquals(181f, ref.timesteps()[0]);
        assertEquals(1f, ref.timesteps()[9]);
        // N=40: base t=976…201 (32 steps), refiner t=176…1 (8 steps) starting at sigmas[32]
        s.setTimesteps(40);
        base = TimestepPlan.text2img(s, 0.8);
        assertEquals(32, base.steps());
        assertEquals(976f, base.timesteps()[0]);
        assertEquals(201f, base.timesteps()[31]);
        ref = TimestepPlan.img2img(s, 40, 1.0, 0.8, null).apply(s);
        assertArrayEquals(new float[]{176, 151, 126, 101, 76, 51, 26, 1}, ref.timesteps());
        float[] x = {1f, -2f, 0.5f};
        float[] scaled = s.scaleModelInput(x, ref.timesteps()[0]);
        float sigma32 = s.sigmas()[32];
        for (int i = 0; i < x.length; i++) {
            assertEquals(x[i] / (float) Math.sqrt(sigma32 * sigma32 + 1f), scaled[i], 0f, "refiner starts at sigmas[32]");
        }
        assertEquals(32, s.stepIndex());
    }

    @Test
    void specWorkedExamplesOfStrength() {
        EulerDiscreteScheduler s = new EulerDiscreteScheduler(SchedulerConfig.parse(SPEC_SDXL_CONFIG));
        s.setTimesteps(50);
        // strength 0.9999: int(49.995) = 49 → t_start 1 → 49 steps from t=961 (981 is skipped)
        TimestepPlan p = TimestepPlan.img2img(s, 50, 0.9999, null, null);
        assertEquals(1, p.beginIndex());
        assertEquals(49, p.steps());
        assertEquals(961f, p.noisingTimestep());
        // strength 0.3 → 15 steps, 281…1
        p = TimestepPlan.img2img(s, 50, 0.3, null, null);
        assertEquals(15, p.steps());
        assertEquals(281f, p.timesteps()[0]);
        assertEquals(1f, p.timesteps()[14]);
        // strength 1 keeps everything; 0 keeps nothing
        assertEquals(50, TimestepPlan.img2img(s, 50, 1.0, null, null).steps());
        assertEquals(0, TimestepPlan.img2img(s, 50, 0.0, null, null).steps());
    }

    @Test
    void strengthFollowsPythonIntTruncation() {
        for (int n = 1; n <= 60; n++) {
            for (double strength = 0; strength <= 1.0; strength += 0.05) {
                double st = Math.min(strength, 1.0);
                // independent: floor of the double product (positive), clamp, as get_timesteps does
                int init = (int) Math.floor(n * st);
                int want = Math.max(n - Math.min(init, n), 0);
                assertEquals(want, TimestepPlan.strengthStartIndex(n, st, 1), "N=" + n + " strength=" + st);
            }
        }
    }

    @Test
    void denoisingEndAfterAStrengthStartCutsTheTail() {
        EulerDiscreteScheduler s = new EulerDiscreteScheduler(SchedulerConfig.readDir(Fixtures.path("sdxl-base/scheduler")));
        s.setTimesteps(50);
        float[] full = s.timesteps();
        TimestepPlan p = TimestepPlan.img2img(s, 50, 0.6, null, 0.9);
        int cutoff = pythonCutoff(s.numTrainTimesteps(), 0.9);
        int begin = 50 - (int) Math.floor(50 * 0.6);
        assertEquals(begin, p.beginIndex());
        for (float t : p.timesteps()) assertTrue(t >= cutoff);
        assertTrue(p.endIndex() == full.length || full[p.endIndex()] < cutoff);
    }

    @Test
    void invalidFractionsAreIgnoredOrRejectedAsDiffusersDoes() {
        EulerDiscreteScheduler s = new EulerDiscreteScheduler(SchedulerConfig.readDir(Fixtures.path("sdxl-base/scheduler")));
        s.setTimesteps(30);
        // denoising_end outside (0, 1) is ignored by the pipelines
        assertEquals(30, TimestepPlan.text2img(s, 1.0).steps());
        assertEquals(30, TimestepPlan.text2img(s, null).steps());
        // denoising_start outside (0, 1) falls back to strength
        assertEquals(TimestepPlan.img2img(s, 30, 0.5, null, null), TimestepPlan.img2img(s, 30, 0.5, 0.0, null));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TimestepPlan.img2img(s, 30, 0.5, 0.8, 0.7));
        assertTrue(e.getMessage().contains("denoisingStart"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TimestepPlan.strengthStartIndex(30, 1.5, 1));
        assertTrue(e.getMessage().contains("strength"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TimestepPlan.denoisingEndCount(s.timesteps(), 1000, 1.0));
        assertTrue(e.getMessage().contains("denoisingEnd"), e.getMessage());
    }

    @Test
    void secondOrderSchedulersRoundTheRefinerCountUpToOdd() {
        // the order-2 rule of get_timesteps, on a synthetic order-2 grid (every timestep but the first doubled)
        float[] ts = {999, 899, 899, 799, 799, 699, 699, 599, 599};
        int cutoff = pythonCutoff(1000, 0.3); // 700 → t < 700: 699, 699, 599, 599 = 4, even → 5
        assertEquals(700, cutoff);
        assertEquals(ts.length - 5, TimestepPlan.denoisingStartIndex(ts, 1000, 0.3, 2));
        assertEquals(ts.length - 4, TimestepPlan.denoisingStartIndex(ts, 1000, 0.3, 1));
    }
}
