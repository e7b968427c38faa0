package io.jdiffusion.pipelines.image;

/**
 * diffusers' {@code VaeImageProcessor.apply_overlay(mask, init_image, image, crop_coords)} (spec
 * §7.5), the last step of inpainting with {@code padding_mask_crop}: puts the generated image back
 * into the original, keeping the original wherever the mask is not painted. Bit-exact with Pillow
 * (checked against Pillow 12.3 in PilReferenceTest), reproducing its 8-bit integer arithmetic:
 * <ol>
 *   <li>{@code init_image} and {@code mask} are Lanczos-resized to the generated image's size;</li>
 *   <li>the original, as premultiplied RGBa, is pasted onto a transparent canvas through the
 *       inverted L mask {@code m' = 255 − L}: every byte becomes {@code DIV255(v·m')}, alpha
 *       {@code m'}; converting back to RGBA un-premultiplies with {@code min(255, 255·v / a)};</li>
 *   <li>with a crop box the generated image is resized with mode "crop" to the box and pasted at
 *       its corner on a black canvas of the generated size;</li>
 *   <li>the masked original is alpha-composited over the (opaque) generated image with Pillow's
 *       7-bit-precision integer {@code alpha_composite}, and the alpha dropped.</li>
 * </ol>
 */
public final class Overlay {
    private Overlay() {}

    private static final int PRECISION_BITS = 7;

    /**
     * @param mask      the user's mask (any mode; converted to L after resizing in its own mode)
     * @param initImage the original picture (RGB, or L which is taken as grey RGB)
     * @param image     the generated image (RGB)
     * @param crop      the {@code crops_coords} box, or null
     */
    public static Image apply(Image mask, Image initImage, Image image, CropBox crop) {
        int w = image.width(), h = image.height();
        Image init = Lanczos.resize(initImage.hasAlpha() ? initImage : initImage.toRgb(), w, h);
        if (init.channels() == 2) init = init.toRgb(); // an LA original cannot be resized (see Lanczos)
        Image m = Lanczos.resize(mask.dropAlpha(), w, h).toL();

        // init_image.convert("RGBA").convert("RGBa"), pasted onto zeros through invert(mask)
        byte[] src = new byte[w * h * 4];
        for (int i = 0; i < w * h; i++) {
            int a = init.channels() == 4 ? init.data()[i * 4 + 3] & 0xFF : 255;
            int inv = 255 - (m.data()[i] & 0xFF);
            for (int c = 0; c < 4; c++) {
                int v = c < 3 ? mulDiv255(init.data()[i * init.channels() + c] & 0xFF, a) : a; // RGBA → RGBa
                src[i * 4 + c] = (byte) div255(v * inv); // BLEND(inv, 0, v)
            }
            // RGBa → RGBA
            int alpha = src[i * 4 + 3] & 0xFF;
            if (alpha != 0 && alpha != 255) {
                for (int c = 0; c < 3; c++) src[i * 4 + c] = (byte) Math.min(255, 255 * (src[i * 4 + c] & 0xFF) / alpha);
            }
        }

        Image base = image.toRgb();
        if (crop != null) {
            Image fitted = ImageProcessor.resize(base, crop.width(), crop.height(), ImageProcessor.ResizeMode.CROP);
            base = new Image(w, h, 3, new byte[w * h * 3]).paste(fitted, crop.x1(), crop.y1());
        }

        // image.convert("RGBA").alpha_composite(init_image_masked).convert("RGB"); dst alpha is 255
        byte[] out = new byte[w * h * 3];
        for (int i = 0; i < w * h; i++) {
            int sa = src[i * 4 + 3] & 0xFF;
            if (sa == 0) {
                System.arraycopy(base.data(), i * 3, out, i * 3, 3);
                continue;
            }
            long da = 255;
            long blend = da * (255 - sa);
            long outa255 = sa * 255L + blend;
            long coef1 = sa * 255L * 255L * (1 << PRECISION_BITS) / outa255;
            long coef2 = 255L * (1 << PRECISION_BITS) - coef1;
            for (int c = 0; c < 3; c++) {
                long tmp = (src[i * 4 + c] & 0xFF) * coef1 + (base.data()[i * 3 + c] & 0xFF) * coef2;
                out[i * 3 + c] = (byte) (shiftForDiv255(tmp + (0x80L << PRECISION_BITS)) >> PRECISION_BITS);
            }
        }
        return new Image(w, h, 3, out);
    }

    /** Pillow's {@code MULDIV255(a, b)}: round(a·b / 255) in integers. */
    static int mulDiv255(int a, int b) {
        int tmp = a * b + 128;
        return ((tmp >> 8) + tmp) >> 8;
    }

    /** Pillow's {@code DIV255(a)}. */
    static int div255(int a) {
        int tmp = a + 128;
        return ((tmp >> 8) + tmp) >> 8;
    }

    private static long shiftForDiv255(long a) {
        return ((a >> 8) + a) >> 8;
    }
}
