package io.jdiffusion.pipelines;

/** Called after every denoising step with the latents as diffusers' callback_on_step_end sees them. */
@FunctionalInterface
public interface StepListener {
    void onStep(int index, int total, float timestep, float[] latents);

    StepListener NONE = (i, n, t, x) -> {};
}
