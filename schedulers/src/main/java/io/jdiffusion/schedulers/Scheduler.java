package io.jdiffusion.schedulers;

/**
 * A diffusers noise scheduler on host latents. Latents are float32 arrays in NCHW order (flattened);
 * every operation is elementwise, so no shape is needed, and arithmetic follows diffusers' float32
 * operation order so results match PyTorch on the CPU to within an ulp or so.
 *
 * <p>Usage is as in a diffusers pipeline: {@link #setTimesteps}, optionally {@link #setBeginIndex}
 * (img2img/refiner, see {@link TimestepPlan}), then for each {@code t} of {@link #timesteps()}:
 * {@code scaleModelInput}, run the model, {@code step}. A scheduler is stateful (step index, solver
 * history) and not thread-safe.
 */
public interface Scheduler {

    /** The parsed configuration this scheduler was built from. */
    SchedulerConfig config();

    /** Model evaluations per timestep of the schedule (1 for every scheduler here, as in diffusers). */
    int order();

    int numTrainTimesteps();

    /**
     * Builds the inference schedule for {@code numInferenceSteps} steps and resets the step index,
     * begin index and any solver history.
     *
     * @throws IllegalArgumentException if the count is below 1 or above {@code num_train_timesteps}
     */
    void setTimesteps(int numInferenceSteps);

    /** The timesteps (a copy), largest first; integers for DDIM and DPM-Solver, possibly fractional for Euler. */
    float[] timesteps();

    /**
     * The noise levels (a copy), one per timestep plus the final one (0 unless
     * {@code final_sigmas_type="sigma_min"}).
     *
     * @throws UnsupportedOperationException for DDIM, which (as in diffusers) has no sigma schedule
     */
    float[] sigmas();

    /** What the initial noise is multiplied by (float32, as diffusers' 0-d tensor). */
    float initNoiseSigma();

    /** Index of the first timestep actually run; pipelines set it (img2img) so noise levels line up. */
    void setBeginIndex(int beginIndex);

    /** The begin index, or -1 if none was set since {@link #setTimesteps}. */
    int beginIndex();

    /** The index of the timestep the next {@code step} will use, or -1 before the first call. */
    int stepIndex();

    /** The model input for timestep {@code t}: a new array ({@code x} is not modified). */
    float[] scaleModelInput(float[] x, float t);

    /**
     * One denoising step from {@code sample} at timestep {@code t} using the model output.
     *
     * @param noise generator for stochastic steps (EulerAncestral always, DDIM with eta &gt; 0, Euler with
     *              s_churn &gt; 0); may be {@code null} for deterministic ones
     */
    StepOutput step(float[] modelOutput, float t, float[] sample, NoiseSource noise);

    /** Noises a clean latent to the level of timestep {@code t} (the whole batch at the same {@code t}). */
    float[] addNoise(float[] original, float[] noise, float t);
}
