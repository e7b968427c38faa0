package io.jdiffusion.pipelines;

/** The inpainting pipeline's mask arithmetic (spec §7.3 steps 4 and 6). */
final class MaskLatents {
    private MaskLatents() {}

    /**
     * F.interpolate(mask, size=(H/8, W/8)) in 'nearest' mode: each latent pixel copies the top-left
     * pixel of its 8×8 cell.
     */
    static float[] nearestDownsample(float[] mask, int height, int width) {
        int h = height / 8, w = width / 8, rows = mask.length / (height * width);
        float[] out = new float[rows * h * w];
        for (int r = 0; r < rows; r++) {
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) out[(r * h + y) * w + x] = mask[(r * height + y * 8) * width + x * 8];
            }
        }
        return out;
    }

    /** init_image · (mask < 0.5): pixels to be painted become 0 (mid-grey), the rest keep their values. */
    static float[] maskedImage(float[] image, float[] mask, int pixels) {
        int rows = image.length / (3 * pixels);
        int maskRows = mask.length / pixels;
        float[] out = new float[image.length];
        for (int r = 0; r < rows; r++) {
            int mr = maskRows == 1 ? 0 : r;
            for (int c = 0; c < 3; c++) {
                int base = (r * 3 + c) * pixels;
                for (int i = 0; i < pixels; i++) out[base + i] = mask[mr * pixels + i] < 0.5f ? image[base + i] : 0f;
            }
        }
        return out;
    }
}
