package io.jdiffusion.schedulers;

import java.util.Arrays;

/**
 * What the sigma-parameterised schedulers (Euler, Euler ancestral, DPM-Solver) share with diffusers:
 * the training tables, the {@code timesteps}/{@code sigmas} arrays, and the step-index bookkeeping
 * ({@code _step_index}, {@code _begin_index}, {@code index_for_timestep}).
 */
abstract class SigmaScheduler extends ConfiguredScheduler {
    protected float[] timesteps;
    protected float[] sigmas;
    protected int numInferenceSteps = -1;
    protected int stepIndex = -1;
    protected int beginIndex = -1;

    SigmaScheduler(SchedulerConfig config, boolean fixTerminalSnr, String... predictionTypes) {
        super(config, fixTerminalSnr, "linspace", predictionTypes);
    }

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

    protected float[] requireTimesteps() { return scheduled(timesteps); }

    /** A new schedule of {@code n} inference steps: stepping starts over (no step taken, no begin index). */
    protected void newSchedule(float[] timesteps, float[] sigmas, int n) {
        this.timesteps = timesteps;
        this.sigmas = sigmas;
        this.numInferenceSteps = n;
        this.stepIndex = -1;
        this.beginIndex = -1;
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
}
