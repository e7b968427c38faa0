package io.jdiffusion.pipelines.image;

/**
 * PIL's {@code Image.resize(size, filter, box=…, reducing_gap=None)} with the LANCZOS or BICUBIC
 * filter for 8-bit L and RGB images, bit-exact (spec §7.7; Pillow's Resample.c). {@link Lanczos}
 * is the entry point for the Lanczos resizes diffusers does; BICUBIC is PIL's default filter of
 * {@code resize}, which diffusers' {@code _resize_and_fill} uses (by omission) for its edge bands.
 *
 * <p>Separable: a horizontal pass into an 8-bit intermediate, then a vertical pass. Per axis with
 * source window [in0, in1) and n_out outputs: {@code scale = (in1−in0)/n_out},
 * {@code fs = max(scale, 1)}, {@code support = S·fs}; output x has centre
 * {@code c = in0 + (x+0.5)·scale}, taps {@code lo = max((int)(c−support+0.5), 0)} to
 * {@code hi = min((int)(c+support+0.5), n_in)}, weights {@code F((k−c+0.5)/fs)}, normalised by their sum in double, then turned into
 * 22-bit fixed point with round-half-away-from-zero. A pixel is
 * {@code clip8((2^21 + Σ p·w) >> 22)}, accumulated in 32-bit int like Pillow.
 *
 * Filters: Lanczos {@code F(t) = sinc(t)·sinc(t/3)} on [−3, 3) (S = 3); bicubic (Keys, a = −0.5)
 * on (−2, 2) (S = 2).
 *
 * <p>An axis whose size and window are unchanged is skipped (its weights would be the identity).
 * RGB channels are independent. Images with alpha are refused: PIL resizes LA/RGBA in
 * premultiplied form, which is not reproduced here; drop the alpha first.
 */
final class PilResize {
    private PilResize() {}

    private static final int PRECISION_BITS = 32 - 8 - 2;

    /** The resampling filters of PIL used here. */
    public enum Filter {
        LANCZOS(3.0), BICUBIC(2.0);

        final double support;

        Filter(double support) { this.support = support; }

        double apply(double x) {
            return this == LANCZOS ? lanczos(x) : bicubic(x);
        }
    }

    /** Resize the whole image to width × height. Returns the same image when the size is unchanged (PIL's copy). */
    public static Image resize(Image img, int width, int height, Filter filter) {
        if (width == img.width() && height == img.height()) return img;
        return resize(img, width, height, filter, 0, 0, img.width(), img.height());
    }

    /**
     * Resize the source window {@code box = (x0, y0, x1, y1)} (floating point, PIL's {@code box}
     * argument) to width × height.
     */
    public static Image resize(Image img, int width, int height, Filter filter, double x0, double y0, double x1, double y1) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("resize target must be positive, got " + width + "x" + height);
        }
        if (img.hasAlpha()) {
            throw new IllegalArgumentException("resize of a " + img.mode()
                    + " image is not supported (PIL premultiplies alpha); drop the alpha channel first");
        }
        if (x0 < 0 || y0 < 0 || x1 > img.width() || y1 > img.height() || x1 < x0 || y1 < y0) {
            throw new IllegalArgumentException("resize box (" + x0 + ", " + y0 + ", " + x1 + ", " + y1
                    + ") must lie inside the " + img.size() + " image with x0 <= x1 and y0 <= y1");
        }
        boolean horizontal = width != img.width() || x0 != 0 || x1 != width;
        boolean vertical = height != img.height() || y0 != 0 || y1 != height;
        int ch = img.channels();
        byte[] cur = img.data();
        int curW = img.width(), curH = img.height();
        if (horizontal) {
            Coeffs k = coeffs(filter, img.width(), x0, x1, width);
            byte[] out = new byte[width * curH * ch];
            for (int y = 0; y < curH; y++) {
                int rowIn = y * curW * ch, rowOut = y * width * ch;
                for (int x = 0; x < width; x++) {
                    int lo = k.lo[x], n = k.n[x], kb = x * k.ksize;
                    for (int c = 0; c < ch; c++) {
                        int ss = 1 << (PRECISION_BITS - 1);
                        for (int t = 0; t < n; t++) ss += (cur[rowIn + (lo + t) * ch + c] & 0xFF) * k.w[kb + t];
                        out[rowOut + x * ch + c] = (byte) clip8(ss);
                    }
                }
            }
            cur = out;
            curW = width;
        }
        if (vertical) {
            Coeffs k = coeffs(filter, img.height(), y0, y1, height);
            int stride = curW * ch;
            byte[] out = new byte[stride * height];
            for (int y = 0; y < height; y++) {
                int lo = k.lo[y], n = k.n[y], kb = y * k.ksize;
                for (int i = 0; i < stride; i++) {
                    int ss = 1 << (PRECISION_BITS - 1);
                    for (int t = 0; t < n; t++) ss += (cur[(lo + t) * stride + i] & 0xFF) * k.w[kb + t];
                    out[y * stride + i] = (byte) clip8(ss);
                }
            }
            cur = out;
            curH = height;
        }
        if (cur == img.data()) cur = cur.clone();
        return new Image(curW, curH, ch, cur);
    }

    /** Fixed-point weights of one axis: output i uses inputs lo[i] … lo[i]+n[i]−1 with w[i·ksize + t]. */
    record Coeffs(int ksize, int[] lo, int[] n, int[] w, double[] wd) {}

    static Coeffs coeffs(Filter filter, int inSize, double in0, double in1, int outSize) {
        double scale = (in1 - in0) / outSize;
        double filterscale = Math.max(scale, 1.0);
        double support = filter.support * filterscale;
        int ksize = (int) Math.ceil(support) * 2 + 1;
        int[] lo = new int[outSize], n = new int[outSize], w = new int[outSize * ksize];
        double[] wd = new double[outSize * ksize];
        for (int xx = 0; xx < outSize; xx++) {
            double center = in0 + (xx + 0.5) * scale;
            double ss = 1.0 / filterscale;
            int xmin = (int) (center - support + 0.5); // C cast: truncation toward zero
            if (xmin < 0) xmin = 0;
            int xmax = (int) (center + support + 0.5);
            if (xmax > inSize) xmax = inSize;
            xmax -= xmin;
            double ww = 0.0;
            for (int x = 0; x < xmax; x++) {
                double v = filter.apply((x + xmin - center + 0.5) * ss);
                wd[xx * ksize + x] = v;
                ww += v;
            }
            for (int x = 0; x < xmax; x++) {
                if (ww != 0.0) wd[xx * ksize + x] /= ww;
                double v = wd[xx * ksize + x];
                w[xx * ksize + x] = (int) (v < 0 ? -0.5 + v * (1 << PRECISION_BITS) : 0.5 + v * (1 << PRECISION_BITS));
            }
            lo[xx] = xmin;
            n[xx] = xmax;
        }
        return new Coeffs(ksize, lo, n, w, wd);
    }

    static double lanczos(double x) {
        if (-3.0 <= x && x < 3.0) return sinc(x) * sinc(x / 3.0);
        return 0.0;
    }

    /** Pillow's {@code bicubic_filter}: Keys' cubic convolution with a = −0.5. */
    static double bicubic(double x) {
        final double a = -0.5;
        if (x < 0.0) x = -x;
        if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
        return 0.0;
    }

    private static double sinc(double x) {
        if (x == 0.0) return 1.0;
        x = x * Math.PI;
        return StrictMath.sin(x) / x;
    }

    private static int clip8(int in) {
        if (in >= (1 << PRECISION_BITS << 8)) return 255;
        if (in <= 0) return 0;
        return in >> PRECISION_BITS;
    }
}
