package io.jdiffusion.pipelines;

/**
 * The UNet produced NaN or infinite values: the run is aborted at that step instead of decoding a
 * black image and reporting success. Usual causes are weights that overflow in half precision
 * (an fp16 UNet or VAE; the fp16-fix VAE exists for this), damaged weights, or an extreme guidance scale.
 */
public final class NonFiniteOutputException extends IllegalStateException {
    private final int step;

    private static final String CAUSES = ": the run is aborted and no image is written. Usual causes: weights that overflow in"
            + " half precision (an fp16 UNet or VAE; use fp32 or the fp16-fix VAE), damaged weights, or an extreme --guidance";

    NonFiniteOutputException(int step, int steps, float timestep, int index, float value) {
        super("the UNet output is not finite at step " + step + " of " + steps + " (timestep " + timestep + ", value " + value
                + " at index " + index + ")" + CAUSES);
        this.step = step;
    }

    private NonFiniteOutputException(String what, int index, float value) {
        super(what + " is not finite (value " + value + " at index " + index + ")" + CAUSES);
        this.step = -1;
    }

    /** Throws when the VAE's decoded pixels hold a NaN or an infinity (they would be written as a black image). */
    static void checkDecoded(float[] pixels) {
        for (int k = 0; k < pixels.length; k++) {
            if (!Float.isFinite(pixels[k])) throw new NonFiniteOutputException("the VAE's decoded image", k, pixels[k]);
        }
    }

    /** The 1-based step at which the output stopped being finite; -1 when the VAE's output was not. */
    public int step() { return step; }

    /** Throws when {@code eps} (the noise prediction of 0-based step {@code i}) holds a NaN or an infinity. */
    static void check(float[] eps, int i, int steps, float timestep) {
        for (int k = 0; k < eps.length; k++) {
            if (!Float.isFinite(eps[k])) throw new NonFiniteOutputException(i + 1, steps, timestep, k, eps[k]);
        }
    }
}
