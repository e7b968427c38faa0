package io.jdiffusion.pipelines.profile;

import io.jdiffusion.tensor.DType;

import java.nio.file.Path;

/**
 * What to profile: a model (and optionally a refiner) at one image size and compute dtype, under an
 * optional device-memory budget.
 *
 * @param model             folder, single file, Hugging Face id, or a built-in name (sdxl-base, sdxl-refiner, sdxl-inpaint)
 * @param refiner           the same kinds of name, or null
 * @param width             image width in pixels, a multiple of 8
 * @param height            image height in pixels, a multiple of 8
 * @param dtype             the device compute dtype
 * @param vramBytes         the device budget, 0 for none
 * @param steps             total denoising steps (split between base and refiner by {@code highNoiseFraction})
 * @param highNoiseFraction the share of steps the base model runs when there is a refiner
 * @param encodesImage      whether the run starts from an image (img2img, inpaint): one VAE encode per model
 * @param vae               a diffusers VAE folder replacing the models' own (as {@code --vae}; e.g. sdxl-vae-fp16-fix,
 *                          which runs in the device dtype where force_upcast keeps the SDXL VAE in F32), or null
 */
public record ProfileRequest(String model, String refiner, int width, int height, DType dtype, long vramBytes, int steps,
                             double highNoiseFraction, boolean encodesImage, Path vae) {
    /** A request with the models' own VAE. */
    public ProfileRequest(String model, String refiner, int width, int height, DType dtype, long vramBytes, int steps,
                          double highNoiseFraction, boolean encodesImage) {
        this(model, refiner, width, height, dtype, vramBytes, steps, highNoiseFraction, encodesImage, null);
    }

    public ProfileRequest {
        if (model == null || model.isBlank()) throw new IllegalArgumentException("--model is required");
        if (width <= 0 || height <= 0 || width % 8 != 0 || height % 8 != 0) {
            throw new IllegalArgumentException("--width and --height must be positive multiples of 8, got " + width + "x" + height);
        }
        if (dtype == null) throw new IllegalArgumentException("--dtype must be f16, bf16 or f32");
        if (vramBytes < 0) throw new IllegalArgumentException("--vram must be >= 0 bytes, got " + vramBytes);
        if (steps < 1) throw new IllegalArgumentException("--steps must be >= 1, got " + steps);
        if (!(highNoiseFraction > 0 && highNoiseFraction <= 1)) {
            throw new IllegalArgumentException("--high-noise-fraction must be in (0, 1], got " + highNoiseFraction);
        }
    }

    /** Steps the base model runs. */
    public int baseSteps() { return refiner == null ? steps : (int) Math.round(steps * highNoiseFraction); }

    /** Steps the refiner runs. */
    public int refinerSteps() { return refiner == null ? 0 : steps - baseSteps(); }
}
