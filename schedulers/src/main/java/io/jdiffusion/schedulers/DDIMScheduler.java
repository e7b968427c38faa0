package io.jdiffusion.schedulers;

/**
 * diffusers' {@code DDIMScheduler}, spec §6.3: integer timesteps, no sigma schedule, unit
 * {@code init_noise_sigma}, identity input scaling. The step is stateless (it reads ᾱ at {@code t} and at
 * {@code t − T/n}, the latter even for "linspace"/"trailing" spacing, as diffusers does), so there is no
 * step or begin index. With {@code eta > 0} (set by {@link #setEta}) each step draws one noise tensor.
 */
public final class DDIMScheduler extends AlphaScheduler {
    private final boolean clipSample;
    private final float clipSampleRange;

    private float[] timesteps;
    private double eta = 0;

    public DDIMScheduler(SchedulerConfig config) {
        super(config, true, "epsilon", "v_prediction", "sample");
        this.clipSample = SchedulerConfig.or(config.clipSample(), true);
        this.clipSampleRange = SchedulerConfig.or(config.clipSampleRange(), 1.0).floatValue();
        if (Boolean.TRUE.equals(config.thresholding())) {
            throw new IllegalArgumentException("thresholding=true is not supported by DDIMScheduler here; allowed values: false");
        }
    }

    /** diffusers' {@code eta} (the pipeline's {@code eta} argument): 0 is deterministic DDIM, 1 is DDPM-like. */
    public void setEta(double eta) {
        if (!(eta >= 0)) throw new IllegalArgumentException("eta must be >= 0, got " + eta);
        this.eta = eta;
    }

    @Override
    public float[] timesteps() {
        return scheduled(timesteps).clone();
    }

    @Override
    public void setTimesteps(int n) {
        checkStepCount(n);
        double[] d = spacedTimesteps(n);
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (long) Math.rint(d[i]); // integer timesteps: linspace's are rounded
        this.timesteps = f;
        this.numInferenceSteps = n;
    }

    @Override
    public StepOutput step(float[] modelOutput, float t, float[] sample, NoiseSource noise) {
        checkStep(modelOutput, sample);
        int timestep = integralTimestep(t);
        int prevTimestep = timestep - train.numTrainTimesteps / numInferenceSteps;
        float alphaProdT = alphaCumprodAt(timestep);
        float alphaProdPrev = prevTimestep >= 0 ? alphaCumprodAt(prevTimestep) : finalAlphaCumprod;
        float betaProdT = 1f - alphaProdT;
        float sqrtA = (float) Math.sqrt(alphaProdT), sqrtB = (float) Math.sqrt(betaProdT);
        int n = sample.length;
        float[] x0 = new float[n], epsPred = new float[n];
        switch (predictionType) {
            case "epsilon" -> {
                for (int i = 0; i < n; i++) {
                    x0[i] = (sample[i] - sqrtB * modelOutput[i]) / sqrtA;
                    epsPred[i] = modelOutput[i];
                }
            }
            case "v_prediction" -> {
                for (int i = 0; i < n; i++) {
                    x0[i] = sqrtA * sample[i] - sqrtB * modelOutput[i];
                    epsPred[i] = sqrtA * modelOutput[i] + sqrtB * sample[i];
                }
            }
            default -> {
                for (int i = 0; i < n; i++) {
                    x0[i] = modelOutput[i];
                    epsPred[i] = (sample[i] - sqrtA * x0[i]) / sqrtB;
                }
            }
        }
        if (clipSample) {
            for (int i = 0; i < n; i++) x0[i] = Math.min(Math.max(x0[i], -clipSampleRange), clipSampleRange);
        }
        // σ_t(η) of DDIM eq. (16): variance = (1−ᾱ_prev)/(1−ᾱ_t) · (1 − ᾱ_t/ᾱ_prev), float32 0-d tensors.
        float betaProdPrev = 1f - alphaProdPrev;
        float variance = (betaProdPrev / betaProdT) * (1f - alphaProdT / alphaProdPrev);
        float stdDev = (float) eta * (float) Math.sqrt(variance);
        float dirCoef = (float) Math.sqrt(1f - alphaProdPrev - stdDev * stdDev);
        float sqrtAPrev = (float) Math.sqrt(alphaProdPrev);
        float[] prev = new float[n];
        for (int i = 0; i < n; i++) prev[i] = sqrtAPrev * x0[i] + dirCoef * epsPred[i];
        if (eta > 0) {
            if (noise == null) throw new IllegalArgumentException("DDIMScheduler with eta > 0 draws noise: pass a NoiseSource");
            float[] z = new float[n];
            noise.fillStandardNormal(z);
            for (int i = 0; i < n; i++) prev[i] = prev[i] + stdDev * z[i];
        }
        return new StepOutput(prev, x0);
    }
}
