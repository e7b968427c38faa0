package io.jdiffusion.pipelines;

import io.jdiffusion.pipelines.image.Image;

import java.util.Objects;
import java.util.function.BooleanSupplier;

/**
 * diffusers' StableDiffusionXLInpaintPipeline, with the mask tools users reach for: dilation by a
 * k×k kernel for n iterations (cv2.dilate), Gaussian blur, and outpainting onto a larger canvas.
 * With a refiner, the base inpaints the high-noise fraction and the refiner continues from its
 * latents with the same mask.
 *
 * <pre>{@code
 * try (var pipe = InpaintPipeline.load("stabilityai/stable-diffusion-xl-base-1.0")
 *         .refiner("stabilityai/stable-diffusion-xl-refiner-1.0")) {
 *     GenerationResult r = pipe.prompt("a red vase").negativePrompt("blurry")
 *             .image(photo).mask(mask).dilate(15, 2)
 *             .steps(70).guidance(7.5).highNoiseFraction(0.8).seed(42).run();
 * }
 * }</pre>
 *
 * Unlike diffusers, whose default size is unet.sample_size × 8 (1024), the default output size is
 * the input image's (after any outpaint extension); {@link #size} resizes like diffusers.
 */
public final class InpaintPipeline extends SdxlPipeline<InpaintPipeline> implements MaskTools<InpaintPipeline> {
    private Image image;
    private Image mask;
    private String imageOrigin, maskOrigin;
    private float[] latents;
    private int latentHeight, latentWidth;

    /** diffusers' default guidance_scale for this pipeline. */
    public static final double DEFAULT_GUIDANCE = 7.5;

    private InpaintPipeline(SdxlModel base, boolean owns) { super(base, owns, DEFAULT_GUIDANCE, 0.9999); }

    public static InpaintPipeline load(String model) { return new InpaintPipeline(SdxlModel.load(model), true); }

    public static InpaintPipeline of(SdxlModel model) { return new InpaintPipeline(model, false); }

    public InpaintPipeline image(Image img) { this.image = Objects.requireNonNull(img, "image"); return this; }

    public InpaintPipeline image(Image img, String origin) { image(img); this.imageOrigin = origin; return this; }

    /** The input image set, or null (callers size a canvas from it before running). */
    public Image image() { return image; }

    /** Continues from latents [n, 4, h, w] instead of a pixel image (the refiner half of a handoff). */
    public InpaintPipeline latents(float[] z, int h, int w) {
        this.latents = z.clone();
        this.latentHeight = h;
        this.latentWidth = w;
        return this;
    }

    /** White (≥ 128 after conversion to L) marks what to paint. */
    public InpaintPipeline mask(Image m) { this.mask = Objects.requireNonNull(m, "mask"); return this; }

    public InpaintPipeline mask(Image m, String origin) { mask(m); this.maskOrigin = origin; return this; }

    public InpaintPipeline strength(double s) { return settings(settings.with(settings.schedule().withStrength(s))); }

    @Override
    protected void validate() {
        super.validate();
        GenerationSettings.Mask ms = settings.mask();
        GenerationRecord.Outpaint outpaint = ms.outpaint();
        if (image == null && latents == null) throw new IllegalArgumentException("image is required for inpainting");
        if (mask == null && outpaint == null) throw new IllegalArgumentException("mask (or outpaint extents) is required for inpainting");
        if (image != null && mask != null && outpaint == null
                && (mask.width() != image.width() || mask.height() != image.height())) {
            throw new IllegalArgumentException("mask size " + mask.size() + " differs from image size " + image.size());
        }
        if (ms.paddingMaskCrop() != null && (latents != null || settings.outputLatents())) {
            throw new IllegalArgumentException("paddingMaskCrop works on pixel images: it needs an image (not latents) and image output");
        }
        if (image != null && latents == null) InpaintCanvas.checkSize(settings, image, imageOrigin, base.backend());
    }

    @Override
    protected GenerationResult execute(BooleanSupplier cancelled) {
        GenerationRecord.Outpaint outpaint = settings.mask().outpaint();
        InpaintCanvas c = InpaintCanvas.prepare(settings, image, mask, latents, latentHeight, latentWidth);
        double strength = settings.schedule().strength();
        DenoisingSpec spec = DenoisingSpec.base(DenoisingSpec.Kind.INPAINT, settings, refiner != null, c.height(), c.width(), strength,
                c.pixels(), latents, c.maskTensor());
        DenoisingLoop.Output out = runWithRefiner(spec, generator(), cancelled);
        return c.pasteBack(Runs.result(out, Runs.record(this, outpaint != null ? "outpaint" : "inpaint", c.width(), c.height(), strength,
                imageOrigin, image, maskOrigin, mask)));
    }
}
