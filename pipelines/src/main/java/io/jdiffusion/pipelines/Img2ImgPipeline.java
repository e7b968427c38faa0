package io.jdiffusion.pipelines;

import io.jdiffusion.pipelines.image.Image;
import io.jdiffusion.pipelines.image.ImageProcessor;

import java.util.Objects;
import java.util.function.BooleanSupplier;

/**
 * diffusers' StableDiffusionXLImg2ImgPipeline (also the refiner pipeline): noises the encoded input
 * image to {@code strength} and denoises from there. The image keeps its size rounded down to a
 * multiple of 8 unless {@link #size} is given.
 */
public final class Img2ImgPipeline extends SdxlPipeline<Img2ImgPipeline> {
    private Image image;
    private String imageOrigin;
    private float[] latents;
    private int latentHeight, latentWidth;

    /** diffusers' default guidance_scale for this pipeline. */
    public static final double DEFAULT_GUIDANCE = 5.0;

    private Img2ImgPipeline(SdxlModel base, boolean owns) { super(base, owns, DEFAULT_GUIDANCE, 0.3); }

    public static Img2ImgPipeline load(String model) { return new Img2ImgPipeline(SdxlModel.load(model), true); }

    public static Img2ImgPipeline of(SdxlModel model) { return new Img2ImgPipeline(model, false); }

    public Img2ImgPipeline image(Image img) { this.image = Objects.requireNonNull(img, "image"); this.latents = null; return this; }

    public Img2ImgPipeline image(Image img, String origin) { image(img); this.imageOrigin = origin; return this; }

    /** Starts from latents [n, 4, h, w] (scaled latent space, e.g. a base run's latent output). */
    public Img2ImgPipeline latents(float[] z, int h, int w) {
        this.latents = z.clone();
        this.latentHeight = h;
        this.latentWidth = w;
        this.image = null;
        return this;
    }

    public Img2ImgPipeline strength(double s) { return settings(settings.with(settings.schedule().withStrength(s))); }

    @Override
    protected void validate() {
        super.validate();
        if (image == null && latents == null) throw new IllegalArgumentException("image is required for img2img");
    }

    @Override
    protected GenerationResult execute(BooleanSupplier cancelled) {
        int w, h;
        float[] pixels = null;
        if (latents != null) {
            w = latentWidth * 8;
            h = latentHeight * 8;
        } else {
            GenerationSettings.Size size = settings.size();
            w = size.width() != null ? size.width() : image.width() / 8 * 8;
            h = size.height() != null ? size.height() : image.height() / 8 * 8;
            checkOutput(w, h, size.width() != null ? null : "from the input image " + (imageOrigin == null ? "" : imageOrigin + " ")
                    + "of " + image.width() + "×" + image.height() + ", rounded down to multiples of 8");
            pixels = ImageProcessor.preprocess(image, h, w).floats();
        }
        double strength = settings.schedule().strength();
        DenoisingSpec spec = DenoisingSpec.base(DenoisingSpec.Kind.IMAGE_TO_IMAGE, settings, refiner != null, h, w, strength,
                pixels, latents, null);
        DenoisingLoop.Output out = runWithRefiner(spec, generator(), cancelled);
        return Runs.result(out, Runs.record(this, "img2img", w, h, strength, imageOrigin, image, null, null));
    }
}
