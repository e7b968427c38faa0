package io.jdiffusion.pipelines;

import io.jdiffusion.pipelines.image.Image;
import io.jdiffusion.pipelines.image.Lanczos;

import java.util.ArrayList;
import java.util.List;

/** diffusers' VaeImageProcessor steps the pipelines need (spec §7.3, §5.5). */
final class ImagePrep {
    private ImagePrep() {}

    /** RGB image → [1, 3, H, W] floats in [-1, 1], Lanczos-resized to (width, height) when the size differs. */
    static float[] imageToTensor(Image img, int width, int height) {
        Image rgb = img.toRgb();
        if (rgb.width() != width || rgb.height() != height) rgb = Lanczos.resize(rgb, width, height);
        int hw = width * height;
        float[] out = new float[3 * hw];
        for (int i = 0; i < hw; i++) {
            for (int c = 0; c < 3; c++) out[c * hw + i] = 2f * ((rgb.data()[i * 3 + c] & 0xFF) / 255f) - 1f;
        }
        return out;
    }

    /** Mask → [1, 1, H, W] in {0, 1}: resized in its own mode, converted to L, /255, binarized at 0.5. */
    static float[] maskToTensor(Image mask, int width, int height) {
        Image m = mask.channels() == 2 || mask.channels() == 4 ? mask.dropAlpha() : mask;
        if (m.width() != width || m.height() != height) m = Lanczos.resize(m, width, height);
        Image l = m.toL();
        float[] out = new float[width * height];
        for (int i = 0; i < out.length; i++) out[i] = (l.data()[i] & 0xFF) / 255f >= 0.5f ? 1f : 0f;
        return out;
    }

    /** NHWC [0, 1] floats → 8-bit RGB images, round(v·255) with ties to even like numpy. */
    static List<Image> toImages(float[] nhwc, int n, int height, int width) {
        List<Image> out = new ArrayList<>(n);
        int per = height * width * 3;
        for (int b = 0; b < n; b++) {
            byte[] d = new byte[per];
            for (int i = 0; i < per; i++) d[i] = (byte) (int) Math.rint(nhwc[b * per + i] * 255f);
            out.add(new Image(width, height, 3, d));
        }
        return out;
    }
}
