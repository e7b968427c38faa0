package io.jdiffusion.schedulers;

import io.jdiffusion.tensor.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The options the fixtures do not exercise, each against an independent double-precision evaluation of
 * the formula diffusers documents: DPM-Solver++ orders 1–3 and the Heun variant, Euler's log-linear
 * sigmas, sigma_min final sigma, continuous timesteps, and zero-terminal-SNR rescaling.
 */
class SchedulerOptionsTest {

    private static SchedulerConfig base() {
        return SchedulerConfig.readDir(Fixtures.path("sdxl-base/scheduler"));
    }

    /** DPM-Solver++ multistep in double, written from the paper's update rules (Lu et al. 2022, Alg. 2). */
    private static double[] referenceDpm(float[] sigmas, int order, boolean heun, boolean lowerOrderFinal, double[] x) {
        int n = sigmas.length - 1;
        double[][] ms = new double[3][];
        x = x.clone();
        for (int k = 0; k < n; k++) {
            double s = sigmas[k], alpha = 1 / Math.sqrt(s * s + 1), sigT = s * alpha;
            double[] m = new double[x.length];
            for (int i = 0; i < x.length; i++) {
                double eps = Math.sin(3 * x[i] + k * 0.1);          // any smooth stand-in model
                m[i] = (x[i] - sigT * eps) / alpha;
            }
            ms[2] = ms[1];
            ms[1] = ms[0];
            ms[0] = m;
            int use = Math.min(order, k + 1);
            if (k == n - 1) use = 1;                                   // final sigma 0 → first order
            if (lowerOrderFinal && n < 15 && k == n - 2) use = Math.min(use, 2);
            double sNext = sigmas[k + 1], aT = 1 / Math.sqrt(sNext * sNext + 1), sT = sNext * aT;
            double lamT = Math.log(aT) - Math.log(sT);
            double lam0 = Math.log(alpha) - Math.log(sigT);
            double h = lamT - lam0;
            double[] out = new double[x.length];
            for (int i = 0; i < x.length; i++) {
                double base = (sT / sigT) * x[i] - aT * (Math.exp(-h) - 1) * ms[0][i];
                if (use >= 2) {
                    double s1 = sigmas[k - 1], a1 = 1 / Math.sqrt(s1 * s1 + 1), lam1 = Math.log(a1) - Math.log(s1 * a1);
                    double r0 = (lam0 - lam1) / h;
                    double d1 = (ms[0][i] - ms[1][i]) / r0;
                    if (use == 2) {
                        base += heun ? aT * ((Math.exp(-h) - 1) / h + 1) * d1 : -0.5 * aT * (Math.exp(-h) - 1) * d1;
                    } else {
                        double s2 = sigmas[k - 2], a2 = 1 / Math.sqrt(s2 * s2 + 1), lam2 = Math.log(a2) - Math.log(s2 * a2);
                        double r1 = (lam1 - lam2) / h;
                        double d10 = d1, d11 = (ms[1][i] - ms[2][i]) / r1;
                        double dd1 = d10 + r0 / (r0 + r1) * (d10 - d11);
                        double dd2 = (d10 - d11) / (r0 + r1);
                        base += aT * ((Math.exp(-h) - 1) / h + 1) * dd1 - aT * ((Math.exp(-h) - 1 + h) / (h * h) - 0.5) * dd2;
                    }
                }
                out[i] = base;
            }
            x = out;
        }
        return x;
    }

    @Test
    void dpmSolverOrdersAndSolverTypesMatchTheReferenceUpdate() {
        double[] x0 = {0.8, -1.3, 2.2, 0.05, -0.4};
        for (int order = 1; order <= 3; order++) {
            for (String type : new String[]{"midpoint", "heun"}) {
                for (int steps : new int[]{8, 20}) {
                    DPMSolverMultistepScheduler s = new DPMSolverMultistepScheduler(base().with(Map.of(
                            "solver_order", order, "solver_type", type, "timestep_spacing", "trailing")));
                    s.setTimesteps(steps);
                    float[] x = new float[x0.length];
                    for (int i = 0; i < x.length; i++) x[i] = (float) x0[i];
                    float[] ts = s.timesteps();
                    for (int k = 0; k < ts.length; k++) {
                        float[] eps = new float[x.length];
                        for (int i = 0; i < x.length; i++) eps[i] = (float) Math.sin(3 * x[i] + k * 0.1);
                        x = s.step(eps, ts[k], x, null).prevSample();
                    }
                    double[] want = referenceDpm(s.sigmas(), order, type.equals("heun"), true, x0);
                    for (int i = 0; i < x.length; i++) {
                        assertEquals(want[i], x[i], 2e-4 * Math.max(1, Math.abs(want[i])),
                                "order " + order + " " + type + " " + steps + " steps, element " + i);
                    }
                }
            }
        }
    }

    @Test
    void eulerLogLinearSigmasAreGeometric() {
        EulerDiscreteScheduler s = new EulerDiscreteScheduler(base().with("interpolation_type", "log_linear"));
        s.setTimesteps(10);
        float[] sig = s.sigmas();
        TrainingSchedule t = TrainingSchedule.of(base(), true);
        float[] train = t.sigmas();
        // n + 1 values from σ_max down to σ_min with a constant ratio, then the final 0 (as diffusers builds them)
        assertEquals(12, sig.length);
        assertEquals(train[train.length - 1], sig[0], 1e-5 * train[train.length - 1]);
        assertEquals(train[0], sig[10], 1e-5 * train[0]);
        double ratio = Math.log(train[0] / (double) train[train.length - 1]) / 10;
        for (int i = 1; i <= 10; i++) assertEquals(ratio, Math.log(sig[i] / (double) sig[i - 1]), 1e-5, "log step " + i);
        assertEquals(0f, sig[11]);
    }

    @Test
    void finalSigmaMinAndContinuousTimesteps() {
        EulerDiscreteScheduler s = new EulerDiscreteScheduler(base().with("final_sigmas_type", "sigma_min"));
        s.setTimesteps(12);
        TrainingSchedule t = TrainingSchedule.of(base(), true);
        double a0 = t.alphasCumprod[0];
        assertEquals(Math.sqrt((1 - a0) / a0), s.sigmas()[12], 1e-7);
        // the last step then stops at σ_min instead of returning x0
        s.setBeginIndex(11);
        float sLast = s.sigmas()[11], sMin = s.sigmas()[12];
        float[] x = {1f}, eps = {0.5f};
        float got = s.step(eps, s.timesteps()[11], x, null).prevSample()[0];
        double x0 = 1.0 - sLast * 0.5;
        assertEquals(1.0 + (1.0 - x0) / sLast * (sMin - sLast), got, 1e-6);
        assertTrue(Math.abs(got - x0) > 1e-3, "should not have jumped to x0");

        EulerDiscreteScheduler c = new EulerDiscreteScheduler(base().with(Map.of(
                "timestep_type", "continuous", "prediction_type", "v_prediction")));
        c.setTimesteps(6);
        float[] sig = c.sigmas(), ts = c.timesteps();
        assertEquals(6, ts.length);
        for (int i = 0; i < 6; i++) assertEquals(0.25 * Math.log(sig[i]), ts[i], 1e-6, "continuous timestep " + i);
        // steps locate these fractional timesteps like discrete ones
        c.scaleModelInput(new float[]{1f}, ts[2]);
        assertEquals(2, c.stepIndex());
    }

    @Test
    void zeroTerminalSnrRescaling() {
        SchedulerConfig c = base().with("rescale_betas_zero_snr", true);
        // Euler-family and DPM clamp the terminal ᾱ to 2^-24 so σ_max stays finite; DDIM keeps it 0
        assertEquals(0x1p-24f, TrainingSchedule.of(c, true).alphasCumprod[999]);
        assertEquals(0f, TrainingSchedule.of(c, false).alphasCumprod[999], 1e-12f);
        // ᾱ_0 is preserved by the rescale
        assertEquals(TrainingSchedule.of(base(), true).alphasCumprod[0], TrainingSchedule.of(c, true).alphasCumprod[0], 2e-7f);
        EulerDiscreteScheduler s = new EulerDiscreteScheduler(c.with("timestep_spacing", "trailing"));
        s.setTimesteps(4);
        assertEquals(Math.sqrt((1 - 0x1p-24) / 0x1p-24), s.sigmas()[0], 1.0);
    }
}
