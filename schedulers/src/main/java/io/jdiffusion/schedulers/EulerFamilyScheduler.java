package io.jdiffusion.schedulers;

/**
 * What Euler and Euler ancestral share, as diffusers' two classes do: the timestep spacing, the
 * initial noise sigma, the input scaling, the x0 prediction from σ and {@code add_noise}.
 */
abstract class EulerFamilyScheduler extends SigmaScheduler {

    EulerFamilyScheduler(SchedulerConfig config) {
        super(config, true, "epsilon", "v_prediction", "sample");
    }

    /** {@link #spacedTimesteps} as float32 (linspace's fractional values kept, as diffusers' Euler does). */
    protected float[] eulerTimesteps(int n) {
        double[] d = spacedTimesteps(n);
        float[] ts = new float[d.length];
        for (int i = 0; i < d.length; i++) ts[i] = (float) d[i];
        return ts;
    }

    /**
     * The Euler family's {@code init_noise_sigma}: √(σ_max² + 1) for "leading" spacing, σ_max itself for
     * "linspace"/"trailing" (diffusers' rule), in float32.
     */
    @Override
    public float initNoiseSigma() {
        requireTimesteps();
        float max = Float.NEGATIVE_INFINITY;
        for (float v : sigmas) max = Math.max(max, v);
        if (timestepSpacing.equals("linspace") || timestepSpacing.equals("trailing")) return max;
        return TorchMath.sqrtSigmaSqPlusOne(max);
    }

    /** The Euler family's input scaling {@code x / √(σ² + 1)} at the current step (a true float32 division). */
    @Override
    public float[] scaleModelInput(float[] x, float t) {
        initStepIndexIfNeeded(t);
        float d = TorchMath.sqrtSigmaSqPlusOne(sigmas[stepIndex]);
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) out[i] = x[i] / d;
        return out;
    }

    /**
     * The predicted x0 of {@code x} at noise level σ: epsilon {@code x − σ̂·ε} (σ̂ = {@code sigmaHat}, the
     * churned σ), v_prediction {@code v·(−σ/√(σ²+1)) + x/(σ²+1)} (the EDM c_out/c_skip form, with σ),
     * sample the model output itself.
     */
    protected float[] predictOriginal(float[] modelOutput, float[] x, float sigmaHat, float sigma) {
        int n = x.length;
        float[] x0 = new float[n];
        switch (predictionType) {
            case "epsilon" -> {
                for (int i = 0; i < n; i++) x0[i] = x[i] - sigmaHat * modelOutput[i];
            }
            case "v_prediction" -> {
                float sq1 = sigma * sigma + 1f;
                float cOut = -sigma / (float) Math.sqrt(sq1);
                for (int i = 0; i < n; i++) x0[i] = modelOutput[i] * cOut + x[i] / sq1;
            }
            default -> System.arraycopy(modelOutput, 0, x0, 0, n);
        }
        return x0;
    }

    /** {@code x0 + noise·σ}: Euler's ODE variable is unscaled; the scaling happens in {@link #scaleModelInput}. */
    @Override
    public float[] addNoise(float[] original, float[] noise, float t) {
        checkSameLength("original", original, "noise", noise);
        float sigma = sigmas[addNoiseIndex(t)];
        float[] out = new float[original.length];
        for (int i = 0; i < out.length; i++) out[i] = original[i] + noise[i] * sigma;
        return out;
    }
}
