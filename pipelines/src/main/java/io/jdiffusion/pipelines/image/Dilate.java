package io.jdiffusion.pipelines.image;

/**
 * OpenCV {@code cv2.dilate(mask, np.ones((k, k), np.uint8), iterations=n)} with the default anchor
 * and border, exactly (spec §9.1).
 *
 * <ul>
 *   <li>Anchor {@code a = k / 2} (for even k the lower-right of the two middle cells):
 *       {@code out[y, x] = max over dy, dx ∈ [0, k) of src[y − a + dy, x − a + dx]}.</li>
 *   <li>Border: OpenCV's "morphology default" constant never wins a max, i.e. pixels outside the
 *       image are ignored (no zero padding, no replication).</li>
 *   <li>{@code iterations = n} with an all-ones kernel is one pass of size
 *       {@code K = k + (n−1)(k−1)} with anchor {@code a·n} (what OpenCV does internally; equal to n
 *       successive passes under border-ignoring semantics).</li>
 * </ul>
 * A rectangular max is separable, so it runs as a row pass and a column pass. Works per channel.
 */
public final class Dilate {
    private Dilate() {}

    public static Image dilate(Image img, int kernel, int iterations) {
        if (kernel < 1) throw new IllegalArgumentException("dilation kernel size must be >= 1, got " + kernel);
        if (iterations < 0) throw new IllegalArgumentException("dilation iterations must be >= 0, got " + iterations);
        if (iterations == 0 || kernel == 1) return img;
        int size = kernel + (iterations - 1) * (kernel - 1);
        int anchor = (kernel / 2) * iterations;
        int w = img.width(), h = img.height(), ch = img.channels();
        byte[] src = img.data();
        byte[] rows = new byte[src.length];
        // out covers src[x − anchor … x − anchor + size − 1], clipped to the image
        int before = anchor, after = size - 1 - anchor;
        for (int y = 0; y < h; y++) {
            int row = y * w * ch;
            for (int x = 0; x < w; x++) {
                int x0 = Math.max(0, x - before), x1 = Math.min(w - 1, x + after);
                for (int c = 0; c < ch; c++) {
                    int m = 0;
                    for (int i = x0; i <= x1; i++) m = Math.max(m, src[row + i * ch + c] & 0xFF);
                    rows[row + x * ch + c] = (byte) m;
                }
            }
        }
        byte[] out = new byte[src.length];
        int stride = w * ch;
        for (int y = 0; y < h; y++) {
            int y0 = Math.max(0, y - before), y1 = Math.min(h - 1, y + after);
            for (int i = 0; i < stride; i++) {
                int m = 0;
                for (int yy = y0; yy <= y1; yy++) m = Math.max(m, rows[yy * stride + i] & 0xFF);
                out[y * stride + i] = (byte) m;
            }
        }
        return new Image(w, h, ch, out);
    }
}
