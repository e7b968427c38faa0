/**
 * The image and mask layer of the pipelines: everything between files / PIL-style images and the
 * NCHW float tensors diffusers feeds the VAE, reproducing PIL, numpy and OpenCV bit for bit.
 *
 * <ul>
 *   <li>{@link io.jdiffusion.pipelines.image.Image} — 8-bit L/LA/RGB/RGBA pixels, PIL's
 *       {@code convert("RGB")}/{@code convert("L")};
 *       {@link io.jdiffusion.pipelines.image.ImageFiles} reads PNG/JPEG like {@code Image.open}.</li>
 *   <li>{@link io.jdiffusion.pipelines.image.ImageProcessor} — {@code VaeImageProcessor}:
 *       {@code preprocess} (image → [−1, 1]), mask processor (→ {0, 1}), {@code masked_image},
 *       nearest mask downsampling, {@code postprocess} ("np" and "pil"), {@code get_crop_region},
 *       resize modes default/fill/crop, and the inpaint pipeline's preprocessing in one call
 *       ({@code prepareInpaint}); {@link io.jdiffusion.pipelines.image.Overlay} is
 *       {@code apply_overlay}.</li>
 *   <li>{@link io.jdiffusion.pipelines.image.Lanczos} / {@link io.jdiffusion.pipelines.image.PilResize}
 *       — PIL resize; {@link io.jdiffusion.pipelines.image.GaussianBlur} — PIL GaussianBlur and
 *       diffusers' {@code blur}; {@link io.jdiffusion.pipelines.image.Dilate} — {@code cv2.dilate}.</li>
 *   <li>{@link io.jdiffusion.pipelines.image.Outpaint} — canvas extension and the mask of the new
 *       area.</li>
 *   <li>{@link io.jdiffusion.pipelines.image.PngWriter} — deterministic, atomic PNG output with
 *       {@code parameters} ({@link io.jdiffusion.pipelines.image.A1111Parameters}) and
 *       {@code jdiffusion} text chunks; {@link io.jdiffusion.pipelines.image.PngText} reads them.</li>
 * </ul>
 *
 * <p>Typical inpaint flow: {@code ImageFiles.read} image and mask →
 * {@code ImageProcessor.prepareInpaint(image, mask, H, W, paddingMaskCropOrNull)} → VAE-encode
 * {@code image()} / {@code maskedImage()}, {@code interpolateNearest(mask(), H/8, W/8)} → … decode →
 * {@code ImageProcessor.postprocess} → with a crop, {@code Overlay.apply(mask, image, result, crop)}
 * → {@code PngWriter.writeGeneration}.
 */
package io.jdiffusion.pipelines.image;
