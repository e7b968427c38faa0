package io.jdiffusion.pipelines.image;

import io.jdiffusion.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static io.jdiffusion.pipelines.image.PilResize.Filter.BICUBIC;

/**
 * diffusers' {@code VaeImageProcessor} for PIL-style inputs (spec §7.3, §7.5, §7.6): image → NCHW
 * f32 in [−1, 1], mask → NCHW f32 binarized to {0, 1}, decoded [−1, 1] → [0, 1] NHWC ("np") or 8-bit
 * images ("pil"), and the {@code padding_mask_crop} helpers.
 *
 * <p>Numbers follow numpy/torch float32 exactly: {@code f32(v / 255)} per 8-bit sample, then
 * {@code 2x − 1}; on the way out {@code clamp(x/2 + 0.5, 0, 1)}, then {@code rint(f32(v·255))}
 * (numpy's {@code round} is half-to-even).
 */
public final class ImageProcessor {
    private ImageProcessor() {}

    /** {@code 2 ** (len(vae.config.block_out_channels) - 1)} for every SDXL VAE. */
    public static final int VAE_SCALE_FACTOR = 8;

    /** {@code resize_mode} of {@code VaeImageProcessor.resize}. */
    public enum ResizeMode {
        /** stretch to the target size (PIL Lanczos). */
        DEFAULT,
        /** fit inside keeping aspect, centre on black, stretch the edge rows/columns into the bands. */
        FILL,
        /** cover the target keeping aspect, centre, crop the excess. */
        CROP
    }

    /**
     * diffusers' {@code check_inputs}: pipelines need a pixel size divisible by 8.
     */
    public static void requireMultipleOf8(int height, int width) {
        if (height <= 0 || width <= 0 || height % VAE_SCALE_FACTOR != 0 || width % VAE_SCALE_FACTOR != 0) {
            throw new IllegalArgumentException("height and width have to be positive and divisible by "
                    + VAE_SCALE_FACTOR + " but are " + height + " and " + width);
        }
    }

    /** The inpaint pipeline's requirement that image and mask describe the same pixels. */
    public static void requireSameSize(Image image, Image mask) {
        if (image.width() != mask.width() || image.height() != mask.height()) {
            throw new IllegalArgumentException("mask size " + mask.size() + " (WxH) differs from image size "
                    + image.size() + "; the mask must have the same size as the image");
        }
    }

    /**
     * {@code get_default_height_width}: the given size or the image's, each rounded down to a
     * multiple of 8. Returns {height, width}.
     */
    public static int[] defaultHeightWidth(Image image, Integer height, Integer width) {
        int h = height != null ? height : image.height();
        int w = width != null ? width : image.width();
        h -= h % VAE_SCALE_FACTOR;
        w -= w % VAE_SCALE_FACTOR;
        if (h <= 0 || w <= 0) {
            throw new IllegalArgumentException("image size " + (width != null ? width : image.width()) + "x"
                    + (height != null ? height : image.height()) + " rounds down to " + w + "x" + h
                    + " at multiples of " + VAE_SCALE_FACTOR + "; it must be at least 8x8");
        }
        return new int[] {h, w};
    }

    /** {@code VaeImageProcessor.resize(image, height, width, resize_mode)} for an image without alpha. */
    public static Image resize(Image image, int width, int height, ResizeMode mode) {
        return switch (mode) {
            case DEFAULT -> Lanczos.resize(image, width, height);
            case FILL -> resizeAndFill(image, width, height);
            case CROP -> resizeAndCrop(image, width, height);
        };
    }

    /**
     * {@code _resize_and_fill}: fit inside (width, height) keeping the aspect (integer floor
     * division, Lanczos), paste centred on black, then fill the two bands with a resize of a
     * zero-height (or zero-width) box at the resized image's top/bottom (left/right) edge. diffusers
     * passes no filter there, so PIL's default BICUBIC applies, and the empty box makes it
     * extrapolate from the two outermost rows (weights 1.125 and −0.125) — not a copy of the edge
     * row (checked against Pillow 12.3, see PilReferenceTest).
     */
    static Image resizeAndFill(Image image, int width, int height) {
        double ratio = (double) width / height;
        double srcRatio = (double) image.width() / image.height();
        int srcW = ratio < srcRatio ? width : image.width() * height / image.height();
        int srcH = ratio >= srcRatio ? height : image.height() * width / image.width();
        Image resized = Lanczos.resize(image, srcW, srcH);
        Image res = black(width, height, image.channels())
                .paste(resized, width / 2 - srcW / 2, height / 2 - srcH / 2);
        if (ratio < srcRatio) {
            int fillHeight = height / 2 - srcH / 2;
            if (fillHeight > 0) {
                res = res.paste(PilResize.resize(resized, width, fillHeight, BICUBIC, 0, 0, width, 0), 0, 0);
                res = res.paste(PilResize.resize(resized, width, fillHeight, BICUBIC, 0, resized.height(), width, resized.height()),
                        0, fillHeight + srcH);
            }
        } else if (ratio > srcRatio) {
            int fillWidth = width / 2 - srcW / 2;
            if (fillWidth > 0) {
                res = res.paste(PilResize.resize(resized, fillWidth, height, BICUBIC, 0, 0, 0, height), 0, 0);
                res = res.paste(PilResize.resize(resized, fillWidth, height, BICUBIC, resized.width(), 0, resized.width(), height),
                        fillWidth + srcW, 0);
            }
        }
        return res;
    }

    /** {@code _resize_and_crop}: cover (width, height) keeping the aspect, paste centred (clipped). */
    static Image resizeAndCrop(Image image, int width, int height) {
        double ratio = (double) width / height;
        double srcRatio = (double) image.width() / image.height();
        int srcW = ratio > srcRatio ? width : image.width() * height / image.height();
        int srcH = ratio <= srcRatio ? height : image.height() * width / image.width();
        Image resized = Lanczos.resize(image, srcW, srcH);
        return black(width, height, image.channels()).paste(resized, width / 2 - srcW / 2, height / 2 - srcH / 2);
    }

    private static Image black(int width, int height, int channels) {
        return new Image(width, height, channels, new byte[width * height * channels]);
    }

    /**
     * {@code VaeImageProcessor.get_crop_region(mask, width, height, pad)}: the bounding box of the
     * non-zero pixels of the L mask, padded by {@code pad} (clamped to the image) and grown
     * symmetrically to the aspect ratio width/height, shifted back inside the image.
     */
    public static CropBox cropRegion(Image mask, int width, int height, int pad) {
        if (pad < 0) throw new IllegalArgumentException("padding_mask_crop must be >= 0, got " + pad);
        Image m = mask.dropAlpha().toL();
        int w = m.width(), h = m.height();
        int left = w, right = w, top = h, bottom = h;
        for (int x = 0; x < w && left == w; x++) if (columnLit(m, x)) left = x;
        for (int x = w - 1; x >= 0 && right == w; x--) if (columnLit(m, x)) right = w - 1 - x;
        for (int y = 0; y < h && top == h; y++) if (rowLit(m, y)) top = y;
        for (int y = h - 1; y >= 0 && bottom == h; y--) if (rowLit(m, y)) bottom = h - 1 - y;
        if (left == w) {
            throw new IllegalArgumentException("padding_mask_crop needs a mask with at least one non-zero pixel; the "
                    + mask.size() + " mask is all zero");
        }
        int x1 = Math.max(left - pad, 0), y1 = Math.max(top - pad, 0);
        int x2 = Math.min(w - right + pad, w), y2 = Math.min(h - bottom + pad, h);
        double ratioCrop = (double) (x2 - x1) / (y2 - y1);
        double ratioProcessing = (double) width / height;
        if (ratioCrop > ratioProcessing) {
            int[] y = widened(y1, y2, (int) ((x2 - x1) / ratioProcessing - (y2 - y1)), h);
            y1 = y[0];
            y2 = y[1];
        } else {
            int[] x = widened(x1, x2, (int) ((y2 - y1) * ratioProcessing - (x2 - x1)), w);
            x1 = x[0];
            x2 = x[1];
        }
        return new CropBox(x1, y1, x2, y2);
    }

    /**
     * The interval [lo, hi) grown by {@code diff} (half on each side, the odd pixel at the end), then
     * moved back inside [0, size] as diffusers' get_crop_region does.
     */
    private static int[] widened(int lo, int hi, int diff, int size) {
        lo -= Math.floorDiv(diff, 2);
        hi += diff - Math.floorDiv(diff, 2);
        if (hi >= size) {
            int d = hi - size;
            hi -= d;
            lo -= d;
        }
        if (lo < 0) {
            hi -= lo;
            lo = 0;
        }
        if (hi >= size) hi = size;
        return new int[] {lo, hi};
    }

    private static boolean columnLit(Image m, int x) {
        for (int y = 0; y < m.height(); y++) if (m.get(x, y, 0) != 0) return true;
        return false;
    }

    private static boolean rowLit(Image m, int y) {
        for (int x = 0; x < m.width(); x++) if (m.get(x, y, 0) != 0) return true;
        return false;
    }

    // ---------------------------------------------------------------- images → tensors

    /**
     * The inpaint/img2img image processor's {@code preprocess} for PIL images: optional crop,
     * {@link #defaultHeightWidth}, resize ({@code mode}), then [−1, 1]. Images are taken as RGB
     * ({@code convert("RGB")} first — diffusers expects callers to pass RGB). Returns (B, 3, H, W).
     *
     * @param height target height or null for the first image's (both rounded down to a multiple of 8)
     * @param crop   {@code crops_coords} or null
     */
    public static Tensor preprocess(List<Image> images, Integer height, Integer width, ResizeMode mode, CropBox crop) {
        List<Image> prepared = prepare(images, height, width, mode, crop, false);
        return normalize(prepared);
    }

    /** {@link #preprocess} of one image with the default resize mode and no crop. */
    public static Tensor preprocess(Image image, Integer height, Integer width) {
        return preprocess(List.of(image), height, width, ResizeMode.DEFAULT, null);
    }

    /**
     * The mask processor's {@code preprocess} ({@code do_normalize=False, do_binarize=True,
     * do_convert_grayscale=True}): optional crop, resize in the mask's own mode (an RGB mask per
     * channel), convert to L, {@code f32(v/255)}, then {@code < 0.5 → 0, ≥ 0.5 → 1} (8-bit values
     * ≥ 128 become 1). Alpha is dropped first. Returns (B, 1, H, W).
     */
    public static Tensor preprocessMask(List<Image> masks, Integer height, Integer width, ResizeMode mode, CropBox crop) {
        List<Image> prepared = prepare(masks, height, width, mode, crop, true);
        int h = prepared.getFirst().height(), w = prepared.getFirst().width();
        float[] out = new float[prepared.size() * h * w];
        for (int b = 0; b < prepared.size(); b++) {
            byte[] d = prepared.get(b).data();
            for (int i = 0; i < h * w; i++) {
                float v = (d[i] & 0xFF) / 255f;
                out[b * h * w + i] = v < 0.5f ? 0f : 1f;
            }
        }
        return Tensor.of(out, prepared.size(), 1, h, w);
    }

    public static Tensor preprocessMask(Image mask, Integer height, Integer width) {
        return preprocessMask(List.of(mask), height, width, ResizeMode.DEFAULT, null);
    }

    private static List<Image> prepare(List<Image> images, Integer height, Integer width, ResizeMode mode,
                                       CropBox crop, boolean grayscale) {
        if (images == null || images.isEmpty()) throw new IllegalArgumentException("no images given");
        List<Image> list = new ArrayList<>(images.size());
        for (Image im : images) {
            Image x = grayscale ? im.dropAlpha() : im.toRgb();
            if (crop != null) x = x.crop(crop.x1(), crop.y1(), crop.x2(), crop.y2());
            list.add(x);
        }
        int[] hw = defaultHeightWidth(list.getFirst(), height, width);
        for (int i = 0; i < list.size(); i++) {
            Image x = resize(list.get(i), hw[1], hw[0], mode);
            list.set(i, grayscale ? x.toL() : x);
        }
        return list;
    }

    /** {@code normalize(numpy_to_pt(pil_to_numpy(images)))}: 8-bit → f32(v/255) → 2x − 1, NCHW. */
    public static Tensor normalize(List<Image> images) {
        Image first = images.getFirst();
        int h = first.height(), w = first.width(), c = first.channels();
        float[] out = new float[images.size() * c * h * w];
        for (int b = 0; b < images.size(); b++) {
            Image im = images.get(b);
            if (im.width() != w || im.height() != h || im.channels() != c) {
                throw new IllegalArgumentException("batch images must share size and mode: image 0 is " + first.mode()
                        + " " + first.size() + ", image " + b + " is " + im.mode() + " " + im.size());
            }
            byte[] d = im.data();
            for (int ch = 0; ch < c; ch++) {
                int base = (b * c + ch) * h * w;
                for (int i = 0; i < h * w; i++) {
                    float v = (d[i * c + ch] & 0xFF) / 255f;
                    out[base + i] = 2f * v - 1f;
                }
            }
        }
        return Tensor.of(out, images.size(), c, h, w);
    }

    /**
     * The inpaint pipeline's step 4: {@code masked_image = init_image · (mask < 0.5)}; shapes
     * (B, 3, H, W) and (B, 1, H, W).
     */
    public static Tensor maskedImage(Tensor image, Tensor mask) {
        int[] s = image.shape(), m = mask.shape();
        if (s.length != 4 || m.length != 4 || m[1] != 1 || m[0] != s[0] || m[2] != s[2] || m[3] != s[3]) {
            throw new IllegalArgumentException("masked_image needs image (B,C,H,W) and mask (B,1,H,W), got "
                    + Arrays.toString(s) + " and " + Arrays.toString(m));
        }
        float[] x = image.toFloatArray(), k = mask.floats();
        int hw = s[2] * s[3];
        for (int b = 0; b < s[0]; b++) {
            for (int c = 0; c < s[1]; c++) {
                int base = (b * s[1] + c) * hw;
                for (int i = 0; i < hw; i++) x[base + i] = x[base + i] * (k[b * hw + i] < 0.5f ? 1f : 0f);
            }
        }
        return Tensor.of(x, s);
    }

    /**
     * {@code torch.nn.functional.interpolate(mask, size=(h, w))} (mode "nearest"): output (i, j)
     * copies input (min(⌊i·s_h⌋, H−1), min(⌊j·s_w⌋, W−1)) with the f32 scales {@code s = in/out}
     * (spec §7.3 step 6; for H = 8h that is the top-left pixel of each 8×8 cell).
     */
    public static Tensor interpolateNearest(Tensor x, int outH, int outW) {
        int[] s = x.shape();
        if (s.length != 4) throw new IllegalArgumentException("interpolate needs (B,C,H,W), got " + Arrays.toString(s));
        if (outH <= 0 || outW <= 0) throw new IllegalArgumentException("interpolate size must be positive, got " + outH + "x" + outW);
        float[] in = x.floats();
        int planes = s[0] * s[1], h = s[2], w = s[3];
        float sh = (float) h / outH, sw = (float) w / outW;
        float[] out = new float[planes * outH * outW];
        for (int p = 0; p < planes; p++) {
            for (int i = 0; i < outH; i++) {
                int si = Math.min((int) Math.floor(i * sh), h - 1);
                for (int j = 0; j < outW; j++) {
                    int sj = Math.min((int) Math.floor(j * sw), w - 1);
                    out[(p * outH + i) * outW + j] = in[(p * h + si) * w + sj];
                }
            }
        }
        return Tensor.of(out, s[0], s[1], outH, outW);
    }

    /** The inputs of the inpaint pipeline after preprocessing (spec §7.3 steps 2–4). */
    public record InpaintInputs(Tensor image, Tensor mask, Tensor maskedImage, CropBox crop) {}

    /**
     * {@code StableDiffusionXLInpaintPipeline}'s image/mask preprocessing: with
     * {@code paddingMaskCrop} the crop box is {@link #cropRegion} and resizing uses
     * {@link ResizeMode#FILL}; otherwise plain Lanczos to (width, height). Image and mask must have
     * the same size (diffusers would silently resize each on its own); height/width must be
     * divisible by 8.
     */
    public static InpaintInputs prepareInpaint(Image image, Image mask, int height, int width, Integer paddingMaskCrop) {
        requireMultipleOf8(height, width);
        requireSameSize(image, mask);
        CropBox crop = paddingMaskCrop == null ? null : cropRegion(mask, width, height, paddingMaskCrop);
        ResizeMode mode = crop == null ? ResizeMode.DEFAULT : ResizeMode.FILL;
        Tensor img = preprocess(List.of(image), height, width, mode, crop);
        Tensor m = preprocessMask(List.of(mask), height, width, mode, crop);
        return new InpaintInputs(img, m, maskedImage(img, m), crop);
    }

    // ---------------------------------------------------------------- tensors → images

    /** {@code denormalize} + {@code pt_to_numpy}: (B, C, H, W) in [−1, 1] → (B, H, W, C) in [0, 1]. */
    public static Tensor postprocessNp(Tensor decoded) {
        int[] s = decoded.shape();
        if (s.length != 4) throw new IllegalArgumentException("decoded image must be (B,C,H,W), got " + Arrays.toString(s));
        float[] in = decoded.floats();
        int b = s[0], c = s[1], h = s[2], w = s[3];
        float[] out = new float[in.length];
        for (int n = 0; n < b; n++) {
            for (int ch = 0; ch < c; ch++) {
                for (int i = 0; i < h * w; i++) {
                    float v = in[(n * c + ch) * h * w + i] / 2f + 0.5f;
                    v = v < 0f ? 0f : (v > 1f ? 1f : v); // NaN stays NaN like torch.clamp
                    out[(n * h * w + i) * c + ch] = v;
                }
            }
        }
        return Tensor.of(out, b, h, w, c);
    }

    /**
     * The "pil" output: {@link #postprocessNp} then {@code numpy_to_pil}
     * ({@code (x·255).round().astype(uint8)}, half-to-even). Returns one image per batch row.
     */
    public static List<Image> postprocess(Tensor decoded) {
        return fromUnitNhwc(postprocessNp(decoded));
    }

    /**
     * {@code numpy_to_pil} of an (B, H, W, C) array in [0, 1] (C = 1 → L, 3 → RGB, 4 → RGBA):
     * {@code rint(f32(x·255))}. Values outside [0, 1] saturate and NaN becomes 0 (numpy's cast
     * of those is platform-defined).
     */
    public static List<Image> fromUnitNhwc(Tensor nhwc) {
        int[] s = nhwc.shape();
        if (s.length != 4 || s[3] < 1 || s[3] > 4) {
            throw new IllegalArgumentException("expected (B,H,W,C) with C in 1..4, got " + Arrays.toString(s));
        }
        float[] in = nhwc.floats();
        int per = s[1] * s[2] * s[3];
        List<Image> out = new ArrayList<>(s[0]);
        for (int b = 0; b < s[0]; b++) {
            byte[] d = new byte[per];
            for (int i = 0; i < per; i++) d[i] = (byte) toByte(in[b * per + i]);
            out.add(new Image(s[2], s[1], s[3], d));
        }
        return out;
    }

    /** {@code uint8(round_half_even(f32(x · 255)))} for x in [0, 1]. */
    static int toByte(float x) {
        if (Float.isNaN(x)) return 0;
        float r = (float) Math.rint(x * 255f);
        return r <= 0f ? 0 : (r >= 255f ? 255 : (int) r);
    }
}
