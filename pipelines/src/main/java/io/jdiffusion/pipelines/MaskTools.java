package io.jdiffusion.pipelines;

/**
 * Inpainting's mask tools as fluent setters, for SDXL's {@link InpaintPipeline} and SD 1/2's
 * {@link SdPipeline}: each updates the {@link GenerationSettings.Mask} of the settings.
 */
public interface MaskTools<SELF extends MaskTools<SELF>> extends GenerationPipeline<SELF> {

    /** The mask (white, ≥ 128 after conversion to L, is painted) and the file it came from (recorded with its pixel hash). */
    SELF mask(io.jdiffusion.pipelines.image.Image m, String origin);

    /** The input image set (before any outpaint canvas), or null. */
    io.jdiffusion.pipelines.image.Image image();

    /** Grows the mask like cv2.dilate(mask, ones(k, k), iterations = n). */
    default SELF dilate(int kernel, int iterations) { return settings(settings().with(settings().mask().withDilate(kernel, iterations))); }

    /** Blurs the mask like diffusers' mask_processor.blur (PIL GaussianBlur(radius)) before binarization. */
    default SELF blur(int radius) { return settings(settings().with(settings().mask().withBlur(radius))); }

    /**
     * Outpaints: the image is placed on a canvas grown by these pixels per side and the mask becomes
     * the new area, reaching {@code overlap} pixels into the original. Replaces any mask set.
     */
    default SELF outpaint(int left, int top, int right, int bottom, int overlap) {
        return settings(settings().with(settings().mask().withOutpaint(new GenerationRecord.Outpaint(left, top, right, bottom, overlap))));
    }

    /**
     * diffusers' padding_mask_crop: generate only the mask's bounding box grown by {@code pad} pixels
     * (and widened to the output's aspect ratio), resized to the output size, then paste the result
     * back into the original image through the mask. Small edits on large photos keep full detail.
     */
    default SELF paddingMaskCrop(int pad) { return settings(settings().with(settings().mask().withPaddingMaskCrop(pad))); }
}
