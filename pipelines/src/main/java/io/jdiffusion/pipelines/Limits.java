package io.jdiffusion.pipelines;

import io.jdiffusion.tensor.Backend;

/**
 * The documented upper bounds of a generation (docs/user-guide.md, "Limits"), checked when a
 * setting is made or, for sizes that come from an input image, before any model work: a hostile
 * or mistyped value gets a message naming it instead of an integer overflow, an OutOfMemoryError or
 * hours of work. The bounds are far above what SDXL is used at (1024² images, 20–100 steps).
 */
public final class Limits {
    private Limits() {}

    /** Largest width or height of an output image, an input image or an outpaint canvas, in pixels. */
    public static final int MAX_SIDE = 16384;
    /** Largest number of images per prompt. */
    public static final int MAX_IMAGES_PER_PROMPT = 64;
    /** Largest number of denoising steps. */
    public static final int MAX_STEPS = 1000;
    /** Largest mask dilation kernel (pixels) and number of iterations. */
    public static final int MAX_DILATE_KERNEL = 1023;
    public static final int MAX_DILATE_ITERATIONS = 1000;
    /** Largest outpaint extent (pixels added on one side) and overlap. */
    public static final int MAX_OUTPAINT_EXTENT = 16384;

    /**
     * Bytes of host memory a CPU run needs per output pixel, at least: the VAE decoder's widest
     * full-resolution activations (128 channels of F32 in SDXL's VAE, an input and an output live at
     * once) plus the decoded image as floats and bytes. A lower bound, so no run that fits is refused.
     */
    static final long CPU_BYTES_PER_PIXEL = 128L * 4 * 2 + 3 * 4 * 2 + 4;
    /** Bytes of host memory any run needs per output pixel: the decoded image as floats and as bytes. */
    static final long HOST_BYTES_PER_PIXEL = 3 * 4 * 2 + 4;
    /** The CPU backend keeps a tensor in one Java array. */
    private static final long MAX_CPU_TENSOR = Integer.MAX_VALUE - 8;

    public static void steps(int n) {
        if (n < 1 || n > MAX_STEPS) throw new IllegalArgumentException("steps must be in [1, " + MAX_STEPS + "], got " + n);
    }

    public static void imagesPerPrompt(int n) {
        if (n < 1 || n > MAX_IMAGES_PER_PROMPT) {
            throw new IllegalArgumentException("imagesPerPrompt must be in [1, " + MAX_IMAGES_PER_PROMPT + "], got " + n);
        }
    }

    public static void dilate(int kernel, int iterations) {
        if (kernel < 1 || kernel > MAX_DILATE_KERNEL) {
            throw new IllegalArgumentException("dilate kernel must be in [1, " + MAX_DILATE_KERNEL + "], got " + kernel);
        }
        if (iterations < 0 || iterations > MAX_DILATE_ITERATIONS) {
            throw new IllegalArgumentException("dilate iterations must be in [0, " + MAX_DILATE_ITERATIONS + "], got " + iterations);
        }
    }

    public static void outpaint(int left, int top, int right, int bottom, int overlap) {
        int[] v = {left, top, right, bottom};
        String[] names = {"left", "top", "right", "bottom"};
        for (int i = 0; i < 4; i++) {
            if (v[i] < 0 || v[i] > MAX_OUTPAINT_EXTENT) {
                throw new IllegalArgumentException("outpaint extent " + names[i] + " must be in [0, " + MAX_OUTPAINT_EXTENT + "], got " + v[i]);
            }
        }
        if (overlap < 0 || overlap > MAX_OUTPAINT_EXTENT) {
            throw new IllegalArgumentException("outpaint overlap must be in [0, " + MAX_OUTPAINT_EXTENT + "], got " + overlap);
        }
    }

    /** One side of an image: positive, a multiple of 8 and at most {@link #MAX_SIDE}; {@code origin} says where it came from, or null. */
    public static void side(String name, long v, String origin) {
        String from = origin == null ? "" : " (" + origin + ")";
        if (v <= 0 || v % 8 != 0) throw new IllegalArgumentException(name + " must be a positive multiple of 8, got " + v + from);
        if (v > MAX_SIDE) throw new IllegalArgumentException(name + " must be at most " + MAX_SIDE + ", got " + v + from);
    }

    /** A canvas built before resizing (an outpainted image): at most {@link #MAX_SIDE} per side. */
    public static void canvas(long w, long h, String origin) {
        if (w > MAX_SIDE || h > MAX_SIDE) {
            throw new IllegalArgumentException("the canvas " + w + "×" + h + " (" + origin + ") exceeds " + MAX_SIDE + " pixels per side");
        }
    }

    /**
     * The output size (each side as {@link #side}) and an estimate of the host memory the run needs,
     * compared with what the JVM can still allocate: a message instead of an OutOfMemoryError.
     */
    public static void output(int w, int h, int images, String origin, Backend backend) {
        side("width", w, origin);
        side("height", h, origin);
        boolean cpu = backend == null || backend.device().toString().startsWith("cpu");
        long pixels = (long) w * h;
        if (cpu && 128L * pixels > MAX_CPU_TENSOR) {
            throw new IllegalArgumentException("an image of " + w + "×" + h + " is too large for the CPU backend: the VAE decoder's "
                    + "full-resolution activation would hold " + 128L * pixels + " values, more than one Java array can (2^31)");
        }
        long need = images * pixels * (cpu ? CPU_BYTES_PER_PIXEL : HOST_BYTES_PER_PIXEL);
        Runtime rt = Runtime.getRuntime();
        long free = rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
        if (need > free) {
            throw new IllegalArgumentException(images + " image(s) of " + w + "×" + h + " need at least " + mib(need)
                    + " of Java heap, but only " + mib(free) + " is free (-Xmx " + mib(rt.maxMemory()) + "); use a smaller size,"
                    + " fewer images, or a larger heap (JAVA_OPTS=-Xmx…)");
        }
    }

    private static String mib(long bytes) { return (bytes >> 20) + " MiB"; }
}
