package io.jdiffusion.schedulers;

/**
 * diffusers' {@code EulerAncestralDiscreteScheduler} ("Euler a"), spec §6.4. Same timesteps, sigmas,
 * {@code init_noise_sigma} and input scaling as {@link EulerDiscreteScheduler}, but diffusers' class has
 * no Karras/log-linear/final-sigma options, so those keys are ignored exactly as {@code from_config}
 * ignores them. Every step, the last one included, draws one standard-normal tensor of the latent's
 * size from the generator.
 */
public final class EulerAncestralDiscreteScheduler extends SigmaScheduler {

    public EulerAncestralDiscreteScheduler(SchedulerConfig config) {
        super(config, true, "epsilon", "v_prediction", "sample");
    }

    @Override
    public void setTimesteps(int n) {
        checkStepCount(n);
        float[] trainSigmas = train.sigmas();
        float[] ts = eulerTimesteps(n);
        float[] s = new float[ts.length + 1];
        for (int i = 0; i < ts.length; i++) s[i] = (float) TorchMath.interp(ts[i], trainSigmas);
        s[ts.length] = 0f;
        this.timesteps = ts;
        this.sigmas = s;
        this.numInferenceSteps = n;
        this.stepIndex = -1;
        this.beginIndex = -1;
    }

    @Override
    public float initNoiseSigma() {
        return eulerInitNoiseSigma();
    }

    @Override
    public float[] scaleModelInput(float[] x, float t) {
        return eulerScaleModelInput(x, t);
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
        float[] x0 = new float[n];
        switch (predictionType) {
            case "epsilon" -> {
                for (int i = 0; i < n; i++) x0[i] = sample[i] - sigma * modelOutput[i];
            }
            case "v_prediction" -> {
                float sq1 = sigma * sigma + 1f;
                float cOut = -sigma / (float) Math.sqrt(sq1);
                for (int i = 0; i < n; i++) x0[i] = modelOutput[i] * cOut + sample[i] / sq1;
            }
            default -> System.arraycopy(modelOutput, 0, x0, 0, n);
        }
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

    @Override
    public float[] addNoise(float[] original, float[] noise, float t) {
        checkSameLength("original", original, "noise", noise);
        float sigma = sigmas[addNoiseIndex(t)];
        float[] out = new float[original.length];
        for (int i = 0; i < out.length; i++) out[i] = original[i] + noise[i] * sigma;
        return out;
    }
}
