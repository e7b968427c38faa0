package io.jdiffusion.schedulers;

/**
 * What the ᾱ-parameterised schedulers (DDIM, PNDM) share with diffusers: the training tables,
 * integer timesteps, no sigma schedule, unit {@code init_noise_sigma}, no step or begin index
 * (diffusers' classes have no {@code set_begin_index}; img2img starts the loop further down the
 * list), the final ᾱ of {@code set_alpha_to_one}, and variance-preserving noising.
 */
abstract class AlphaScheduler extends ConfiguredScheduler {
    protected final float finalAlphaCumprod;
    protected int numInferenceSteps = -1;

    AlphaScheduler(SchedulerConfig config, boolean setAlphaToOneDefault, String... predictionTypes) {
        super(config, false, "leading", predictionTypes);
        this.finalAlphaCumprod = SchedulerConfig.or(config.setAlphaToOne(), setAlphaToOneDefault) ? 1f : train.alphasCumprod[0];
    }

    @Override public float initNoiseSigma() { return 1f; }
    @Override public int stepIndex() { return -1; }
    @Override public int beginIndex() { return -1; }
    @Override public void setBeginIndex(int beginIndex) { }

    @Override
    public float[] sigmas() {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " has no sigma schedule (as in diffusers)");
    }

    /** Identity: the ᾱ schedulers take the latents unscaled. */
    @Override
    public float[] scaleModelInput(float[] x, float t) {
        return x.clone();
    }

    /** What a step needs: a schedule, and a model output of the sample's size. */
    protected void checkStep(float[] modelOutput, float[] sample) {
        if (numInferenceSteps < 0) throw new IllegalStateException(getClass().getSimpleName() + ": call setTimesteps before step");
        checkSameLength("modelOutput", modelOutput, "sample", sample);
    }

    /** Variance-preserving noising {@code √ᾱ_t·x0 + √(1−ᾱ_t)·ε} (diffusers' DDPM add_noise). */
    @Override
    public float[] addNoise(float[] original, float[] noise, float t) {
        return train.addNoise(original, noise, alphaCumprodAt(integralTimestep(t)));
    }

    protected int integralTimestep(float t) {
        if (t != Math.rint(t)) {
            throw new IllegalArgumentException(getClass().getSimpleName() + " timesteps are integers, got " + t);
        }
        return (int) t;
    }

    /** ᾱ at a (possibly negative, Python-style) index, as diffusers' tensor indexing does for "trailing" edge cases. */
    protected float alphaCumprodAt(int t) {
        int n = train.numTrainTimesteps;
        int idx = t < 0 ? t + n : t;
        if (idx < 0 || idx >= n) throw new IllegalArgumentException("timestep " + t + " is outside [0, " + n + ")");
        return train.alphasCumprod[idx];
    }
}
