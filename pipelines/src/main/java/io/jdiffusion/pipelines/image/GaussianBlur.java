package io.jdiffusion.pipelines.image;

/**
 * PIL's {@code image.filter(ImageFilter.GaussianBlur(radius))} on 8-bit images, bit-exact
 * (spec §9.2; Pillow's BoxBlur.c), and diffusers' {@code VaeImageProcessor.blur(image,
 * blur_factor=4)}, which is exactly that filter.
 *
 * <p>Pillow approximates the Gaussian with three passes of an "extended" box filter (a box of
 * fractional radius R: the integer window plus the two next pixels at a fractional weight) along
 * x, then three along y, each pass rounding to 8 bits. Edges replicate the border pixel. Channels
 * are independent (RGB works per channel like Pillow's 32-bit line code).
 */
public final class GaussianBlur {
    private GaussianBlur() {}

    private static final int PASSES = 3;

    /** diffusers' default {@code blur_factor}. */
    public static final float DIFFUSERS_BLUR_FACTOR = 4f;

    /** {@code VaeImageProcessor.blur(image, blur_factor)}. */
    public static Image diffusersBlur(Image image, float blurFactor) {
        return blur(image, blurFactor);
    }

    /** {@code ImageFilter.GaussianBlur(radius)}: radius 0 returns the image unchanged. */
    public static Image blur(Image image, float radius) {
        return blur(image, radius, radius);
    }

    /** {@code ImageFilter.GaussianBlur((xradius, yradius))}. */
    public static Image blur(Image image, float xRadius, float yRadius) {
        if (!(xRadius >= 0) || !(yRadius >= 0) || Float.isInfinite(xRadius) || Float.isInfinite(yRadius)) {
            throw new IllegalArgumentException("blur radius must be finite and >= 0, got (" + xRadius + ", " + yRadius + ")");
        }
        if (xRadius == 0 && yRadius == 0) return image;
        float bx = boxRadius(xRadius), by = boxRadius(yRadius);
        int w = image.width(), h = image.height(), ch = image.channels();
        byte[] cur = image.data().clone();
        if (bx != 0) {
            for (int p = 0; p < PASSES; p++) cur = boxBlurRows(cur, w, h, ch, bx);
        }
        if (by != 0) {
            byte[] t = transpose(cur, w, h, ch);
            for (int p = 0; p < PASSES; p++) t = boxBlurRows(t, h, w, ch, by);
            cur = transpose(t, h, w, ch);
        }
        return new Image(w, h, ch, cur);
    }

    /**
     * Pillow's {@code _gaussian_blur_radius}: the fractional box radius whose {@value #PASSES}-fold
     * repetition has the Gaussian's variance. float arithmetic, with sqrt and floor in double.
     */
    static float boxRadius(float radius) {
        float sigma2 = radius * radius / PASSES;
        float L = (float) Math.sqrt(12.0 * sigma2 + 1.0);
        float l = (float) Math.floor((L - 1.0) / 2.0);
        float a = (2 * l + 1) * (l * (l + 1) - 3 * sigma2);
        a /= 6 * (sigma2 - (l + 1) * (l + 1));
        return l + a;
    }

    /** One extended-box pass along every row of a w×h image with ch interleaved channels. */
    static byte[] boxBlurRows(byte[] in, int w, int h, int ch, float radius) {
        int m = (int) radius;
        long ww = (long) ((float) (1 << 24) / (radius * 2 + 1)) & 0xFFFFFFFFL;
        long fw = (((1L << 24) - (2L * m + 1) * ww) & 0xFFFFFFFFL) / 2;
        byte[] out = new byte[in.length];
        int last = w - 1;
        for (int y = 0; y < h; y++) {
            int row = y * w * ch;
            for (int c = 0; c < ch; c++) {
                // window sum at x = 0 with edge replication, then slide
                long acc = 0;
                for (int i = -m; i <= m; i++) acc += px(in, row, ch, c, clamp(i, last));
                for (int x = 0; x < w; x++) {
                    if (x > 0) {
                        acc += px(in, row, ch, c, clamp(x + m, last)) - px(in, row, ch, c, clamp(x - m - 1, last));
                    }
                    long v = (acc * ww + (px(in, row, ch, c, clamp(x - m - 1, last))
                            + px(in, row, ch, c, clamp(x + m + 1, last))) * fw) & 0xFFFFFFFFL;
                    out[row + x * ch + c] = (byte) ((v + (1L << 23)) >>> 24);
                }
            }
        }
        return out;
    }

    private static int px(byte[] a, int row, int ch, int c, int x) {
        return a[row + x * ch + c] & 0xFF;
    }

    private static int clamp(int i, int last) {
        return i < 0 ? 0 : Math.min(i, last);
    }

    private static byte[] transpose(byte[] in, int w, int h, int ch) {
        byte[] out = new byte[in.length];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                System.arraycopy(in, (y * w + x) * ch, out, (x * h + y) * ch, ch);
            }
        }
        return out;
    }
}
