package io.jdiffusion.runs;

import io.jdiffusion.pipelines.image.Image;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Objective measures of an inpainting result against the original image, with the user's mask
 * (as given, before dilation or blur; a pixel is masked when its first channel is ≥ 128):
 *
 * <ul>
 *   <li>{@code psnrUnmasked}: PSNR in dB of the unmasked pixels (all R, G, B values of pixels the model
 *       should keep) against the original: {@code 10·log10(255² / MSE)}, MSE the mean of
 *       {@code (out − orig)²} over those values; identical regions give {@link #PSNR_IDENTICAL} (100 dB).</li>
 *   <li>{@code ssimUnmasked}: SSIM of the unmasked pixels' luma {@code Y = 0.299R + 0.587G + 0.114B}, computed
 *       with one window over the whole unmasked region:
 *       {@code ((2μxμy + C1)(2σxy + C2)) / ((μx² + μy² + C1)(σx² + σy² + C2))}, {@code C1 = (0.01·255)²},
 *       {@code C2 = (0.03·255)²}, population (co)variances.</li>
 *   <li>{@code seam}: the mean of {@code |Y(p) − Y(q)|} over every pair of horizontally or vertically
 *       adjacent pixels p, q of which exactly one is masked (the steps across the mask boundary), in the
 *       output divided by the same mean in the original. 1: the seam is as smooth as the photo there;
 *       above 1: a visible edge along the mask. Left out when the original has no step there (0/0).</li>
 * </ul>
 * Over several outputs each measure is the mean over the outputs. Measured only when the original,
 * mask and outputs have the same size (not for outpainting, whose output is larger than its input).
 */
public final class InpaintMetrics {
    private InpaintMetrics() {}

    public static final double PSNR_IDENTICAL = 100.0;
    private static final double C1 = Math.pow(0.01 * 255, 2), C2 = Math.pow(0.03 * 255, 2);

    /** The measures (name → value), or an empty map when they do not apply (sizes differ, nothing unmasked). */
    public static Map<String, Double> of(Image original, Image mask, List<Image> outputs) {
        Map<String, Double> sum = new LinkedHashMap<>();
        for (Image out : outputs) {
            Map<String, Double> m = of(original, mask, out);
            if (m.isEmpty()) return Map.of();
            m.forEach((k, v) -> sum.merge(k, v, Double::sum));
        }
        sum.replaceAll((k, v) -> v / outputs.size());
        return sum;
    }

    static Map<String, Double> of(Image original, Image mask, Image output) {
        int w = original.width(), h = original.height();
        if (output.width() != w || output.height() != h || mask.width() != w || mask.height() != h) return Map.of();
        Image a = original.toRgb(), b = output.toRgb();
        boolean[] masked = new boolean[w * h];
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) masked[y * w + x] = mask.get(x, y, 0) >= 128;
        double se = 0, n = 0, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                if (masked[y * w + x]) continue;
                for (int c = 0; c < 3; c++) {
                    double d = b.get(x, y, c) - a.get(x, y, c);
                    se += d * d;
                }
                double ya = luma(a, x, y), yb = luma(b, x, y);
                sx += ya; sy += yb; sxx += ya * ya; syy += yb * yb; sxy += ya * yb;
                n++;
            }
        }
        if (n == 0) return Map.of();
        Map<String, Double> m = new LinkedHashMap<>();
        double mse = se / (3 * n);
        m.put("psnrUnmasked", mse == 0 ? PSNR_IDENTICAL : Math.min(PSNR_IDENTICAL, 10 * Math.log10(255.0 * 255.0 / mse)));
        double mx = sx / n, my = sy / n;
        double vx = sxx / n - mx * mx, vy = syy / n - my * my, cxy = sxy / n - mx * my;
        m.put("ssimUnmasked", ((2 * mx * my + C1) * (2 * cxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2)));
        double seamOut = boundaryStep(b, masked, w, h), seamOrig = boundaryStep(a, masked, w, h);
        if (!Double.isNaN(seamOut) && seamOrig > 0) m.put("seam", seamOut / seamOrig);
        return m;
    }

    /** Mean |ΔY| over adjacent pixel pairs with exactly one masked; NaN when the mask has no boundary. */
    static double boundaryStep(Image img, boolean[] masked, int w, int h) {
        double sum = 0;
        int pairs = 0;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                boolean m = masked[y * w + x];
                if (x + 1 < w && masked[y * w + x + 1] != m) { sum += Math.abs(luma(img, x, y) - luma(img, x + 1, y)); pairs++; }
                if (y + 1 < h && masked[(y + 1) * w + x] != m) { sum += Math.abs(luma(img, x, y) - luma(img, x, y + 1)); pairs++; }
            }
        }
        return pairs == 0 ? Double.NaN : sum / pairs;
    }

    private static double luma(Image img, int x, int y) {
        return 0.299 * img.get(x, y, 0) + 0.587 * img.get(x, y, 1) + 0.114 * img.get(x, y, 2);
    }
}
