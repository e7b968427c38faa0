package io.jdiffusion.schedulers;

import java.util.Arrays;

/**
 * Which part of a schedule a pipeline runs (spec §6.6): the {@code strength} truncation of
 * img2img/inpaint, {@code denoising_end} of a producing pipeline and {@code denoising_start} of a
 * consuming one — the base → refiner hand-off. Pure arithmetic on {@code scheduler.timesteps} in
 * diffusers' exact Python semantics ({@code int()} truncation, {@code round()} half-to-even).
 *
 * <p>The result is a half-open index range {@code [beginIndex, endIndex)} of the full schedule;
 * {@link #apply} also sets the scheduler's begin index as diffusers' {@code get_timesteps} does.
 */
public record TimestepPlan(float[] fullTimesteps, int beginIndex, int endIndex) {

    public TimestepPlan {
        if (beginIndex < 0 || endIndex < beginIndex || endIndex > fullTimesteps.length) {
            throw new IllegalArgumentException("invalid range [" + beginIndex + ", " + endIndex + ") of "
                    + fullTimesteps.length + " timesteps");
        }
        fullTimesteps = fullTimesteps.clone();
    }

    /** The timesteps to run, in order. */
    public float[] timesteps() {
        return Arrays.copyOfRange(fullTimesteps, beginIndex, endIndex);
    }

    /** Number of denoising steps (UNet evaluations per CFG branch, for order-1 schedulers). */
    public int steps() {
        return endIndex - beginIndex;
    }

    /** The timestep img2img noises the input image to ({@code timesteps[:1]}); the range must not be empty. */
    public float noisingTimestep() {
        if (steps() == 0) throw new IllegalStateException("the plan has no steps, so no noising timestep");
        return fullTimesteps[beginIndex];
    }

    /** Sets the scheduler's begin index to this plan's start (diffusers' {@code set_begin_index(t_start)}). */
    public TimestepPlan apply(Scheduler scheduler) {
        if (beginIndex < fullTimesteps.length) scheduler.setBeginIndex(beginIndex);
        return this;
    }

    // ---- the rules ----

    /** diffusers' {@code denoising_value_valid}: a value takes effect only if it lies strictly between 0 and 1. */
    public static boolean isValidFraction(Double v) {
        return v != null && v > 0 && v < 1;
    }

    /**
     * The discrete cut-off timestep of a fraction of the denoising process:
     * {@code int(round(T − fraction·T))} with Python's half-to-even {@code round}.
     */
    public static int discreteCutoff(int numTrainTimesteps, double fraction) {
        return (int) Math.rint(numTrainTimesteps - fraction * numTrainTimesteps);
    }

    /**
     * img2img/inpaint {@code strength}: {@code t_start = max(N − min(int(N·strength), N), 0)}, times the
     * scheduler order. {@code strength} 1 keeps the whole schedule; small strengths may keep nothing.
     */
    public static int strengthStartIndex(int numInferenceSteps, double strength, int order) {
        if (!(strength >= 0 && strength <= 1)) {
            throw new IllegalArgumentException("strength must be in [0, 1], got " + strength);
        }
        if (numInferenceSteps < 1) throw new IllegalArgumentException("numInferenceSteps must be >= 1, got " + numInferenceSteps);
        int init = Math.min((int) (numInferenceSteps * strength), numInferenceSteps);
        return Math.max(numInferenceSteps - init, 0) * order;
    }

    /**
     * {@code denoising_start} in a consuming pipeline: run only the timesteps below the cut-off,
     * {@code n = #(t < cutoff)} (+1 when a second-order scheduler gives an even n), so
     * {@code t_start = len − n}.
     */
    public static int denoisingStartIndex(float[] timesteps, int numTrainTimesteps, double denoisingStart, int order) {
        checkFraction("denoisingStart", denoisingStart);
        int cutoff = discreteCutoff(numTrainTimesteps, denoisingStart);
        int n = 0;
        for (float t : timesteps) if (t < cutoff) n++;
        if (order == 2 && n % 2 == 0) n++;
        return Math.max(timesteps.length - n, 0);
    }

    /**
     * {@code denoising_end} in a producing pipeline: how many of {@code timesteps} (from the front) are at or
     * above the cut-off, i.e. are kept.
     */
    public static int denoisingEndCount(float[] timesteps, int numTrainTimesteps, double denoisingEnd) {
        checkFraction("denoisingEnd", denoisingEnd);
        int cutoff = discreteCutoff(numTrainTimesteps, denoisingEnd);
        int n = 0;
        for (float t : timesteps) if (t >= cutoff) n++;
        return n;
    }

    // ---- what each pipeline does ----

    /**
     * Text-to-image: the whole schedule, cut by {@code denoisingEnd} if it is a valid fraction (else ignored,
     * as diffusers ignores it). Call after {@code scheduler.setTimesteps(N)}.
     */
    public static TimestepPlan text2img(Scheduler scheduler, Double denoisingEnd) {
        float[] ts = scheduler.timesteps();
        int end = isValidFraction(denoisingEnd) ? denoisingEndCount(ts, scheduler.numTrainTimesteps(), denoisingEnd) : ts.length;
        return new TimestepPlan(ts, 0, end);
    }

    /**
     * img2img / inpaint / refiner ({@code get_timesteps} then the {@code denoising_end} cut): with a valid
     * {@code denoisingStart}, strength is ignored and the schedule starts below the cut-off (and the input
     * latents are used without adding noise); otherwise {@code strength} decides. Call after
     * {@code scheduler.setTimesteps(numInferenceSteps)}; then call {@link #apply} to set the begin index.
     *
     * @throws IllegalArgumentException if both fractions are valid and {@code denoisingStart >= denoisingEnd}
     */
    public static TimestepPlan img2img(Scheduler scheduler, int numInferenceSteps, double strength,
                                       Double denoisingStart, Double denoisingEnd) {
        float[] ts = scheduler.timesteps();
        int numTrain = scheduler.numTrainTimesteps();
        if (isValidFraction(denoisingStart) && isValidFraction(denoisingEnd) && denoisingStart >= denoisingEnd) {
            throw new IllegalArgumentException("denoisingStart (" + denoisingStart + ") must be below denoisingEnd ("
                    + denoisingEnd + ")");
        }
        int begin = isValidFraction(denoisingStart)
                ? denoisingStartIndex(ts, numTrain, denoisingStart, scheduler.order())
                : Math.min(strengthStartIndex(numInferenceSteps, strength, scheduler.order()), ts.length);
        int end = ts.length;
        if (isValidFraction(denoisingEnd)) {
            end = begin + denoisingEndCount(Arrays.copyOfRange(ts, begin, ts.length), numTrain, denoisingEnd);
        }
        return new TimestepPlan(ts, begin, end);
    }

    private static void checkFraction(String name, double v) {
        if (!(v > 0 && v < 1)) throw new IllegalArgumentException(name + " must be strictly between 0 and 1, got " + v);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TimestepPlan p && beginIndex == p.beginIndex && endIndex == p.endIndex
                && Arrays.equals(fullTimesteps, p.fullTimesteps);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Arrays.hashCode(fullTimesteps) + beginIndex) + endIndex;
    }

    @Override
    public String toString() {
        return "TimestepPlan[" + beginIndex + ", " + endIndex + ") " + Arrays.toString(timesteps());
    }
}
