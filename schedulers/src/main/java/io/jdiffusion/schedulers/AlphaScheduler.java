package io.jdiffusion.schedulers;

/**
 * What the ᾱ-parameterised schedulers (DDIM, PNDM) share with diffusers: the training tables,
 * integer timesteps, no sigma schedule, unit {@code init_noise_sigma}, no step or begin index
 * (diffusers' classes have no {@code set_begin_index}; img2img starts the loop further down the
 * list), the final ᾱ of {@code set_alpha_to_one}, and variance-preserving noising.
 */
abstract class AlphaScheduler implements Scheduler {
    protected final SchedulerConfig config;
    protected final TrainingSchedule train;
    protected final String predictionType;
    protected final String timestepSpacing;
    protected final int stepsOffset;
    protected final float finalAlphaCumprod;

    AlphaScheduler(SchedulerConfig config, boolean setAlphaToOneDefault, String... predictionTypes) {
        this.config = config;
        this.train = TrainingSchedule.of(config, false);
        this.predictionType = SchedulerConfig.oneOf("prediction_type",
                SchedulerConfig.or(config.predictionType(), "epsilon"), predictionTypes);
        this.timestepSpacing = SchedulerConfig.oneOf("timestep_spacing",
                SchedulerConfig.or(config.timestepSpacing(), "leading"), "linspace", "leading", "trailing");
        this.stepsOffset = SchedulerConfig.or(config.stepsOffset(), 0);
        this.finalAlphaCumprod = SchedulerConfig.or(config.setAlphaToOne(), setAlphaToOneDefault) ? 1f : train.alphasCumprod[0];
    }

    @Override public SchedulerConfig config() { return config; }
    @Override public int order() { return 1; }
    @Override public int numTrainTimesteps() { return train.numTrainTimesteps; }
    @Override public float initNoiseSigma() { return 1f; }
    @Override public int stepIndex() { return -1; }
    @Override public int beginIndex() { return -1; }
    @Override public void setBeginIndex(int beginIndex) { }

    @Override
    public float[] sigmas() {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " has no sigma schedule (as in diffusers)");
    }

    protected void checkStepCount(int n) {
        if (n < 1 || n > train.numTrainTimesteps) {
            throw new IllegalArgumentException("numInferenceSteps must be between 1 and num_train_timesteps ("
                    + train.numTrainTimesteps + "), got " + n);
        }
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
