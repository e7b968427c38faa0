package io.jdiffusion.schedulers;

import java.util.Arrays;

/**
 * What the sigma-parameterised schedulers (Euler, Euler ancestral, DPM-Solver) share with diffusers:
 * the training tables, the {@code timesteps}/{@code sigmas} arrays, and the step-index bookkeeping
 * ({@code _step_index}, {@code _begin_index}, {@code index_for_timestep}).
 */
abstract class SigmaScheduler implements Scheduler {
    protected final SchedulerConfig config;
    protected final TrainingSchedule train;
    protected final String predictionType;
    protected final String timestepSpacing;
    protected final int stepsOffset;

    protected float[] timesteps;
    protected float[] sigmas;
    protected int numInferenceSteps = -1;
    protected int stepIndex = -1;
    protected int beginIndex = -1;

    SigmaScheduler(SchedulerConfig config, boolean fixTerminalSnr, String... predictionTypes) {
        this.config = config;
        this.train = TrainingSchedule.of(config, fixTerminalSnr);
        this.predictionType = SchedulerConfig.oneOf("prediction_type",
                SchedulerConfig.or(config.predictionType(), "epsilon"), predictionTypes);
        this.timestepSpacing = SchedulerConfig.oneOf("timestep_spacing",
                SchedulerConfig.or(config.timestepSpacing(), "linspace"), "linspace", "leading", "trailing");
        this.stepsOffset = SchedulerConfig.or(config.stepsOffset(), 0);
    }

    @Override public SchedulerConfig config() { return config; }
    @Override public int order() { return 1; }
    @Override public int numTrainTimesteps() { return train.numTrainTimesteps; }
    @Override public float[] timesteps() { return requireTimesteps().clone(); }
    @Override public float[] sigmas() { requireTimesteps(); return sigmas.clone(); }
    @Override public int stepIndex() { return stepIndex; }
    @Override public int beginIndex() { return beginIndex; }

    @Override
    public void setBeginIndex(int beginIndex) {
        requireTimesteps();
        if (beginIndex < 0 || beginIndex >= timesteps.length) {
            throw new IllegalArgumentException("beginIndex must be in [0, " + timesteps.length + "), got " + beginIndex);
        }
        this.beginIndex = beginIndex;
    }

    protected float[] requireTimesteps() {
        if (timesteps == null) {
            throw new IllegalStateException(getClass().getSimpleName() + ": call setTimesteps before using the schedule");
        }
        return timesteps;
    }

    protected void checkStepCount(int n) {
        if (n < 1 || n > train.numTrainTimesteps) {
            throw new IllegalArgumentException("numInferenceSteps must be between 1 and num_train_timesteps ("
                    + train.numTrainTimesteps + "), got " + n);
        }
    }

    /**
     * Timesteps for the Euler family as float32, spaced per {@code timestep_spacing} exactly as diffusers'
     * numpy code does ("leading": multiples of {@code T // n} plus {@code steps_offset}; "trailing":
     * {@code round(arange(T, 0, −T/n)) − 1}; "linspace": {@code linspace(0, T−1, n)}), largest first.
     */
    protected float[] eulerTimesteps(int n) {
        int numTrain = train.numTrainTimesteps;
        float[] ts;
        switch (timestepSpacing) {
            case "linspace" -> {
                double[] l = TorchMath.npLinspace(0, numTrain - 1, n);
                ts = new float[n];
                for (int i = 0; i < n; i++) ts[i] = (float) l[n - 1 - i];
            }
            case "leading" -> {
                int ratio = numTrain / n;
                ts = new float[n];
                for (int i = 0; i < n; i++) ts[i] = (float) ((double) (n - 1 - i) * ratio) + (float) stepsOffset;
            }
            default -> {
                double[] a = TorchMath.npArange(numTrain, 0, -((double) numTrain / n));
                ts = new float[a.length];
                for (int i = 0; i < a.length; i++) ts[i] = (float) Math.rint(a[i]) - 1f;
            }
        }
        return ts;
    }

    /**
     * The Euler family's {@code init_noise_sigma}: √(σ_max² + 1) for "leading" spacing, σ_max itself for
     * "linspace"/"trailing" (diffusers' rule), in float32.
     */
    protected float eulerInitNoiseSigma() {
        requireTimesteps();
        float max = Float.NEGATIVE_INFINITY;
        for (float v : sigmas) max = Math.max(max, v);
        if (timestepSpacing.equals("linspace") || timestepSpacing.equals("trailing")) return max;
        return TorchMath.sqrtSigmaSqPlusOne(max);
    }

    /** The Euler family's input scaling {@code x / √(σ² + 1)} at the current step (a true float32 division). */
    protected float[] eulerScaleModelInput(float[] x, float t) {
        initStepIndexIfNeeded(t);
        float d = TorchMath.sqrtSigmaSqPlusOne(sigmas[stepIndex]);
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) out[i] = x[i] / d;
        return out;
    }

    /** diffusers' {@code index_for_timestep}: the second match if {@code t} occurs twice, else the first. */
    protected int indexForTimestep(float t) {
        int first = -1;
        for (int i = 0; i < timesteps.length; i++) {
            if (timesteps[i] == t) {
                if (first >= 0) return i;
                first = i;
            }
        }
        if (first < 0) return notInSchedule(t);
        return first;
    }

    /** What {@link #indexForTimestep} does when {@code t} is not a timestep of the schedule. */
    protected int notInSchedule(float t) {
        throw new IllegalArgumentException("timestep " + t + " is not one of this schedule's timesteps "
                + Arrays.toString(timesteps));
    }

    /** {@code _init_step_index}: the begin index if one was set, else the position of {@code t}. */
    protected void initStepIndexIfNeeded(float t) {
        requireTimesteps();
        if (stepIndex < 0) stepIndex = beginIndex >= 0 ? beginIndex : indexForTimestep(t);
        if (stepIndex >= timesteps.length) {
            throw new IllegalStateException("all " + timesteps.length + " steps of the schedule were already taken");
        }
    }

    /** The sigma index add_noise uses: the current step once stepping began (inpaint), else the begin index, else {@code t}'s. */
    protected int addNoiseIndex(float t) {
        requireTimesteps();
        if (beginIndex < 0) return indexForTimestep(t);
        return stepIndex >= 0 ? stepIndex : beginIndex;
    }

    protected static void checkSameLength(String a, float[] x, String b, float[] y) {
        if (x.length != y.length) {
            throw new IllegalArgumentException(a + " has " + x.length + " values but " + b + " has " + y.length);
        }
    }
}
