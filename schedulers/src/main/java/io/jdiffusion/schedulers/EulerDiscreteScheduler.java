package io.jdiffusion.schedulers;

/**
 * diffusers' {@code EulerDiscreteScheduler} (Karras et al. 2022, Algorithm 2; the SDXL default), spec §6.2.
 *
 * <p>Supports {@code timestep_spacing} linspace/leading/trailing with {@code steps_offset},
 * {@code interpolation_type} linear/log_linear, {@code use_karras_sigmas} (with {@code sigma_min},
 * {@code sigma_max}, {@code rho}), {@code final_sigmas_type} zero/sigma_min, {@code timestep_type}
 * discrete/continuous and {@code prediction_type} epsilon/v_prediction/sample. The churn parameters
 * ({@code s_churn} etc.) default to 0 as in diffusers, in which case no noise is drawn.
 */
public final class EulerDiscreteScheduler extends EulerFamilyScheduler {
    private final String interpolationType;
    private final boolean useKarrasSigmas;
    private final String timestepType;
    private final String finalSigmasType;

    private double sChurn = 0, sTmin = 0, sTmax = Double.POSITIVE_INFINITY, sNoise = 1;

    public EulerDiscreteScheduler(SchedulerConfig config) {
        super(config);
        this.interpolationType = SchedulerConfig.oneOf("interpolation_type",
                SchedulerConfig.or(config.interpolationType(), "linear"), "linear", "log_linear");
        this.useKarrasSigmas = SchedulerConfig.or(config.useKarrasSigmas(), false);
        if (Boolean.TRUE.equals(config.useExponentialSigmas()) || Boolean.TRUE.equals(config.useBetaSigmas())) {
            throw new IllegalArgumentException("use_exponential_sigmas / use_beta_sigmas are not supported; "
                    + "allowed sigma schedules: interpolated (default) or use_karras_sigmas");
        }
        this.timestepType = SchedulerConfig.oneOf("timestep_type",
                SchedulerConfig.or(config.timestepType(), "discrete"), "discrete", "continuous");
        this.finalSigmasType = SchedulerConfig.oneOf("final_sigmas_type",
                SchedulerConfig.or(config.finalSigmasType(), "zero"), "zero", "sigma_min");
    }

    /** The stochastic-churn settings diffusers passes to {@code step} (all default to "off"). */
    public void setChurn(double sChurn, double sTmin, double sTmax, double sNoise) {
        if (sChurn < 0) throw new IllegalArgumentException("s_churn must be >= 0, got " + sChurn);
        this.sChurn = sChurn;
        this.sTmin = sTmin;
        this.sTmax = sTmax;
        this.sNoise = sNoise;
    }

    @Override
    public void setTimesteps(int n) {
        checkStepCount(n);
        float[] trainSigmas = train.sigmas();
        float[] logSigmas = TorchMath.logF32(trainSigmas);
        float[] ts = eulerTimesteps(n);
        double[] sig;
        if (interpolationType.equals("linear")) {
            sig = new double[ts.length];
            for (int i = 0; i < ts.length; i++) sig[i] = TorchMath.interp(ts[i], trainSigmas);
        } else {
            // torch.linspace(log σ_max, log σ_min, n + 1).exp() in float32 (n + 1 values, as diffusers).
            float[] l = TorchMath.linspaceF32(logSigmas[logSigmas.length - 1], logSigmas[0], n + 1);
            sig = new double[l.length];
            for (int i = 0; i < l.length; i++) sig[i] = (float) Math.exp(l[i]);
        }
        double[] tsD = new double[ts.length];
        for (int i = 0; i < ts.length; i++) tsD[i] = ts[i];
        if (useKarrasSigmas) {
            double sMin = config.sigmaMin() != null ? config.sigmaMin() : sig[sig.length - 1];
            double sMax = config.sigmaMax() != null ? config.sigmaMax() : sig[0];
            sig = TorchMath.karras(sMin, sMax, n, SchedulerConfig.or(config.rho(), 7.0));
            tsD = new double[sig.length];
            for (int i = 0; i < sig.length; i++) tsD[i] = TorchMath.sigmaToT(sig[i], logSigmas);
        }
        float last = finalSigmasType.equals("zero") ? 0f : TrainingSchedule.sigmaOf(train.alphasCumprod[0]);
        float[] s = new float[sig.length + 1];
        for (int i = 0; i < sig.length; i++) s[i] = (float) sig[i];
        s[sig.length] = last;

        float[] t;
        if (timestepType.equals("continuous") && predictionType.equals("v_prediction")) {
            // EDM-style conditioning: the model is fed 0.25·ln σ instead of a discrete timestep.
            t = new float[s.length - 1];
            for (int i = 0; i < t.length; i++) t[i] = 0.25f * (float) Math.log(s[i]);
        } else {
            t = new float[tsD.length];
            for (int i = 0; i < t.length; i++) t[i] = (float) tsD[i];
        }
        newSchedule(t, s, n);
    }

    @Override
    public StepOutput step(float[] modelOutput, float t, float[] sample, NoiseSource noise) {
        checkSameLength("modelOutput", modelOutput, "sample", sample);
        initStepIndexIfNeeded(t);
        float sigma = sigmas[stepIndex];
        double gamma = (sTmin <= sigma && sigma <= sTmax) ? Math.min(sChurn / (sigmas.length - 1), Math.sqrt(2) - 1) : 0.0;
        float sigmaHat = sigma * (float) (gamma + 1);
        float[] x = sample;
        if (gamma > 0) {
            if (noise == null) {
                throw new IllegalArgumentException("EulerDiscreteScheduler with s_churn > 0 draws noise: pass a NoiseSource");
            }
            float[] eps = new float[sample.length];
            noise.fillStandardNormal(eps);
            float scale = (float) Math.sqrt(Math.max(sigmaHat * sigmaHat - sigma * sigma, 0f));
            x = new float[sample.length];
            float sn = (float) sNoise;
            for (int i = 0; i < x.length; i++) x[i] = sample[i] + (eps[i] * sn) * scale;
        }
        float[] x0 = predictOriginal(modelOutput, x, sigmaHat, sigma);
        float dt = sigmas[stepIndex + 1] - sigmaHat;
        float[] prev = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            // Kept as diffusers writes it (derivative, then Euler update) so float32 rounding matches.
            float derivative = (x[i] - x0[i]) / sigmaHat;
            prev[i] = x[i] + derivative * dt;
        }
        stepIndex++;
        return new StepOutput(prev, x0);
    }
}
