package io.jdiffusion.schedulers;

/**
 * The result of one {@link Scheduler#step}: {@code prevSample} is the next latent (diffusers'
 * {@code prev_sample}); {@code predOriginalSample} is the model's estimate of the clean latent x0 at this
 * step (for DPM-Solver the data prediction the solver used).
 */
public record StepOutput(float[] prevSample, float[] predOriginalSample) {}
