/**
 * Noise schedulers with diffusers' numbers (spec §6): {@link io.jdiffusion.schedulers.EulerDiscreteScheduler}
 * (the SDXL default), {@link io.jdiffusion.schedulers.EulerAncestralDiscreteScheduler},
 * {@link io.jdiffusion.schedulers.DDIMScheduler}, {@link io.jdiffusion.schedulers.DPMSolverMultistepScheduler}
 * (DPM++ 2M, optionally Karras) and {@link io.jdiffusion.schedulers.PNDMScheduler} (the SD 1.x/2.x default), all behind {@link io.jdiffusion.schedulers.Scheduler} and built from a model's
 * {@code scheduler/scheduler_config.json} ({@link io.jdiffusion.schedulers.SchedulerConfig},
 * {@link io.jdiffusion.schedulers.Schedulers#fromPretrained}).
 *
 * <p>Latents are host {@code float[]} arrays (NCHW, flattened): they are small, and keeping them on the host
 * keeps the arithmetic exact and independent of the compute backend. Timestep and sigma tables are built
 * with the same float32/float64 rounding as PyTorch and NumPy, so timesteps compare equal to diffusers'.
 * Stochastic steps draw from a {@link io.jdiffusion.schedulers.NoiseSource} (the pipeline's torch-compatible
 * generator). {@link io.jdiffusion.schedulers.TimestepPlan} holds the {@code strength} /
 * {@code denoising_start} / {@code denoising_end} rules of the img2img, inpaint and refiner pipelines.
 */
package io.jdiffusion.schedulers;
