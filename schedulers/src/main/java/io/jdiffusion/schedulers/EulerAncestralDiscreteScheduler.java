package io.jdiffusion.schedulers;

/**
 * diffusers' {@code EulerAncestralDiscreteScheduler} ("Euler a"), spec §6.4. Same timesteps, sigmas,
 * {@code init_noise_sigma} and input scaling as {@link EulerDiscreteScheduler}, but diffusers' class has
 * no Karras/log-linear/final-sigma options, so those keys are ignored exactly as {@code from_config}
 * ignores them. Every step, the last one included, draws one standard-normal tensor of the latent's
 * size from the generator.
 */
public final class EulerAncestralDiscreteScheduler extends EulerFamilyScheduler {

    public EulerAncestralDiscreteScheduler(SchedulerConfig config) {
        super(config);
    }

    @Override
    public void setTimesteps(int n) {
        checkStepCount(n);
        float[] trainSigmas = train.sigmas();
        float[] ts = eulerTimesteps(n);
        float[] s = new float[ts.length + 1];
        for (int i = 0; i < ts.length; i++) s[i] = (float) TorchMath.interp(ts[i], trainSigmas);
        s[ts.length] = 0f;
        newSchedule(ts, s, n);
    }

    @Override
    public StepOutput step(float[] modelOutput, float t, float[] sample, NoiseSource noise) {
        checkSameLength("modelOutput", modelOutput, "sample", sample);
        if (noise == null) {
            throw new IllegalArgumentException("EulerAncestralDiscreteScheduler draws noise every step: pass a NoiseSource");
        }
        initStepIndexIfNeeded(t);
        float sigma = sigmas[stepIndex];
        int n = sample.length;
        float[] x0 = predictOriginal(modelOutput, sample, sigma, sigma);
        float from = sigmas[stepIndex], to = sigmas[stepIndex + 1];
        // σ_up = sqrt(σ_to²·(σ_from² − σ_to²)/σ_from²), σ_down = sqrt(σ_to² − σ_up²), float32 left to right.
        float fromSq = from * from, toSq = to * to;
        float sigmaUp = (float) Math.sqrt(toSq * (fromSq - toSq) / fromSq);
        float sigmaDown = (float) Math.sqrt(toSq - sigmaUp * sigmaUp);
        float dt = sigmaDown - sigma;
        float[] eps = new float[n];
        noise.fillStandardNormal(eps);
        float[] prev = new float[n];
        for (int i = 0; i < n; i++) {
            float derivative = (sample[i] - x0[i]) / sigma;
            float p = sample[i] + derivative * dt;
            prev[i] = p + eps[i] * sigmaUp;
        }
        stepIndex++;
        return new StepOutput(prev, x0);
    }
}
