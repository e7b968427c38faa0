package io.jdiffusion.pipelines.image;

/**
 * PIL's {@code image.resize((w, h), Image.LANCZOS, reducing_gap=None)} — what diffusers'
 * {@code VaeImageProcessor.resize} does to PIL inputs whose size differs from the target (spec
 * §7.7). Bit-exact for 8-bit L and RGB; the algorithm is in {@link PilResize}.
 */
final class Lanczos {
    private Lanczos() {}

    /** Resize to width × height; the same image when the size is unchanged (PIL returns a copy). */
    public static Image resize(Image img, int width, int height) {
        return PilResize.resize(img, width, height, PilResize.Filter.LANCZOS);
    }

    /** Resize the source window (x0, y0, x1, y1) — PIL's {@code box} argument — to width × height. */
    public static Image resize(Image img, int width, int height, double x0, double y0, double x1, double y1) {
        return PilResize.resize(img, width, height, PilResize.Filter.LANCZOS, x0, y0, x1, y1);
    }
}
