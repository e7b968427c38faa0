package io.jdiffusion.pipelines;

import io.jdiffusion.pipelines.image.Image;
import io.jdiffusion.pipelines.image.ImageProcessor;
import io.jdiffusion.tensor.random.TorchGenerator;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * diffusers' {@code StableDiffusionPipeline}, {@code StableDiffusionImg2ImgPipeline} and
 * {@code StableDiffusionInpaintPipeline} (4- or 9-channel UNet) for SD 1.x/2.x models, set
 * fluently, on the same sampler as SDXL: one text encoder (its last hidden state, or with clip_skip
 * an earlier layer's through final_layer_norm), no pooled embedding or micro-conditioning, the
 * model's own scheduler (PNDM, or DDIM v-prediction for SD 2) unless {@link #scheduler} names
 * another. Its settings are a {@link GenerationSettings} value like SDXL's; the ones only SDXL has
 * (refiner, aesthetic scores, original_size, prompt_2, denoising_start/end) are refused by name.
 * Inpainting takes SDXL's {@link MaskTools} (dilation, blur, outpainting, padding_mask_crop), and
 * {@link #vram} puts the model under a {@link DeviceBudget} as for SDXL.
 *
 * <pre>{@code
 * try (var pipe = SdPipeline.inpaint(SdModel.load("stabilityai/stable-diffusion-2-inpainting"))) {
 *     GenerationResult r = pipe.prompt("a vase").image(photo).mask(mask).steps(30).seed(7).run();
 * }
 * }</pre>
 */
public final class SdPipeline implements MaskTools<SdPipeline> {
    private final DenoisingSpec.Kind kind;
    private final SdModel model;
    private final boolean ownsModel;

    private GenerationSettings settings;
    private Image image, mask;
    private String imageOrigin, maskOrigin;
    private Path unet;
    private DeviceBudget budget;
    private StepListener listener = StepListener.NONE;
    private final AtomicBoolean cancelled = new AtomicBoolean();

    private SdPipeline(DenoisingSpec.Kind kind, SdModel model, boolean ownsModel) {
        this.kind = kind;
        this.model = Objects.requireNonNull(model, "model");
        this.ownsModel = ownsModel;
        // diffusers' defaults: guidance 7.5, 50 steps, img2img strength 0.8, inpaint 1.0
        this.settings = GenerationSettings.defaults(7.5, switch (kind) {
            case TEXT_TO_IMAGE -> null;
            case IMAGE_TO_IMAGE -> 0.8;
            case INPAINT -> 1.0;
        });
    }

    /** StableDiffusionPipeline on {@code model} (not closed by the pipeline). */
    public static SdPipeline txt2img(SdModel model) { return new SdPipeline(DenoisingSpec.Kind.TEXT_TO_IMAGE, model, false); }

    /** StableDiffusionImg2ImgPipeline on {@code model} (not closed by the pipeline). */
    public static SdPipeline img2img(SdModel model) { return new SdPipeline(DenoisingSpec.Kind.IMAGE_TO_IMAGE, model, false); }

    /** StableDiffusionInpaintPipeline on {@code model} (not closed by the pipeline). */
    public static SdPipeline inpaint(SdModel model) { return new SdPipeline(DenoisingSpec.Kind.INPAINT, model, false); }

    /** A pipeline of {@code kind} on a model loaded from a folder, single file or Hugging Face id, closed with the pipeline. */
    public static SdPipeline load(DenoisingSpec.Kind kind, String model) { return of(kind, SdModel.load(model)); }

    /** A pipeline of {@code kind} on {@code model}, which it closes when it is closed. */
    static SdPipeline of(DenoisingSpec.Kind kind, SdModel model) { return new SdPipeline(kind, model, true); }

    public SdModel model() { return model; }

    @Override
    public GenerationSettings settings() { return settings; }

    @Override
    public SdPipeline settings(GenerationSettings s) { this.settings = Objects.requireNonNull(s, "settings"); return this; }

    /** img2img/inpaint strength in (0, 1]. */
    public SdPipeline strength(double s) {
        if (kind == DenoisingSpec.Kind.TEXT_TO_IMAGE) throw new IllegalArgumentException("strength applies to img2img and inpaint, not txt2img");
        return settings(settings.with(settings.schedule().withStrength(s)));
    }

    public SdPipeline image(Image img) {
        if (kind == DenoisingSpec.Kind.TEXT_TO_IMAGE) throw new IllegalArgumentException("image applies to img2img and inpaint, not txt2img");
        this.image = Objects.requireNonNull(img, "image");
        return this;
    }

    @Override
    public Image image() { return image; }

    /** The image and the file it came from (recorded with its pixel hash, for reproduction). */
    public SdPipeline image(Image img, String origin) { image(img); this.imageOrigin = origin; return this; }

    public SdPipeline mask(Image m) {
        if (kind != DenoisingSpec.Kind.INPAINT) throw new IllegalArgumentException("mask applies to inpaint only");
        this.mask = Objects.requireNonNull(m, "mask");
        return this;
    }

    public SdPipeline mask(Image m, String origin) { mask(m); this.maskOrigin = origin; return this; }

    /** Runs with this UNet folder instead of the model's (e.g. a 9-channel inpainting UNet). */
    public SdPipeline unet(Path unetFolder) {
        if (!Files.isRegularFile(unetFolder.resolve("config.json"))) throw new IllegalArgumentException("UNet folder " + unetFolder + " has no config.json");
        this.unet = unetFolder;
        return this;
    }

    @Override
    public SdPipeline vram(long bytes) {
        if (bytes < 0) throw new IllegalArgumentException("vram must be >= 0 bytes (0: no limit), got " + bytes);
        this.budget = bytes == 0 ? null : DeviceBudget.of(model.backend(), bytes);
        return this;
    }

    @Override
    public DeviceBudget deviceBudget() { return budget; }

    @Override
    public SdPipeline onStep(StepListener l) { this.listener = Objects.requireNonNull(l); return this; }

    @Override
    public void cancel() { cancelled.set(true); }

    @Override
    public synchronized GenerationResult run() {
        cancelled.set(false);
        validate();
        if (budget != null) model.deviceBudget(budget);
        GenerationSettings.Size size = settings.size();
        int w, h;
        float[] pixels = null;
        InpaintCanvas canvas = null;
        switch (kind) {
            case TEXT_TO_IMAGE -> {
                w = size.width() != null ? size.width() : model.defaultImageSize();
                h = size.height() != null ? size.height() : model.defaultImageSize();
                Validation.divisibleBy8("width", w);
                Validation.divisibleBy8("height", h);
                InpaintCanvas.checkOutput(settings, w, h, size.width() != null ? null : "the model's default size", model.backend());
            }
            case IMAGE_TO_IMAGE -> {
                int[] hw = ImageProcessor.defaultHeightWidth(image, size.height(), size.width());
                h = hw[0];
                w = hw[1];
                Validation.divisibleBy8("width", w);
                Validation.divisibleBy8("height", h);
                InpaintCanvas.checkOutput(settings, w, h, size.width() != null ? null : "from the input image of " + image.width() + "×"
                        + image.height() + ", rounded down to multiples of 8", model.backend());
                pixels = ImageProcessor.preprocess(image, h, w).floats();
            }
            case INPAINT -> {
                InpaintCanvas.checkSize(settings, image, imageOrigin, model.backend());
                canvas = InpaintCanvas.prepare(settings, image, mask, null, 0, 0);
                w = canvas.width();
                h = canvas.height();
                pixels = canvas.pixels();
            }
            default -> throw new IllegalStateException();
        }
        double strength = kind == DenoisingSpec.Kind.TEXT_TO_IMAGE ? 1.0 : settings.schedule().strength();
        DenoisingSpec spec = DenoisingSpec.base(kind, settings, false, h, w, strength, pixels, null, canvas == null ? null : canvas.maskTensor());
        DenoisingLoop.Output out = model.denoisingLoop(settings.schedule().scheduler(), unet)
                .run(spec, new TorchGenerator(settings.schedule().seed()), listener, cancelled::get);
        GenerationResult r = Runs.result(out, record(w, h));
        return canvas == null ? r : canvas.pasteBack(r);
    }

    /** Checks every setting before any model work, naming the one at fault. */
    private void validate() {
        refuseSdxlOnly(settings);
        settings.validate(false);
        if (kind == DenoisingSpec.Kind.TEXT_TO_IMAGE && settings.schedule().strength() != null) {
            throw new IllegalArgumentException("strength applies to img2img and inpaint, not txt2img");
        }
        if (kind != DenoisingSpec.Kind.INPAINT && !settings.mask().equals(GenerationSettings.Mask.NONE)) {
            throw new IllegalArgumentException("the mask tools (dilate, blur, outpaint, padding_mask_crop) apply to inpaint only");
        }
        if (kind != DenoisingSpec.Kind.TEXT_TO_IMAGE && image == null) throw new IllegalArgumentException("image is required for " + name());
        if (kind != DenoisingSpec.Kind.INPAINT) return;
        GenerationSettings.Mask ms = settings.mask();
        if (mask == null && ms.outpaint() == null) throw new IllegalArgumentException("mask (or outpaint extents) is required for inpainting");
        if (mask != null && ms.outpaint() == null && (mask.width() != image.width() || mask.height() != image.height())) {
            throw new IllegalArgumentException("mask size " + mask.size() + " differs from image size " + image.size());
        }
        if (ms.paddingMaskCrop() != null && settings.outputLatents()) {
            throw new IllegalArgumentException("paddingMaskCrop works on pixel images: it needs image output, not latents");
        }
    }

    /** Refuses, by name, the settings only SDXL has: SD 1/2 have one text encoder, no refiner and no micro-conditioning. */
    static void refuseSdxlOnly(GenerationSettings s) {
        GenerationSettings d = GenerationSettings.defaults(s.guidance().scale(), null);
        String found = s.prompts().prompt2() != null ? "prompt_2"
                : s.prompts().negativePrompt2() != null ? "negative_prompt_2"
                : s.refiner().highNoiseFraction() != null ? "the refiner's high_noise_fraction"
                : s.schedule().denoisingStart() != null ? "denoising_start"
                : s.schedule().denoisingEnd() != null ? "denoising_end"
                : s.guidance().aestheticScore() != d.guidance().aestheticScore()
                        || s.guidance().negativeAestheticScore() != d.guidance().negativeAestheticScore() ? "aesthetic scores" : null;
        if (found != null) {
            throw new IllegalArgumentException(found + " is an SDXL-only setting; SD 1/2 models take none of " + ModelFamily.SDXL_ONLY_SETTINGS
                    + ", denoising_start/end");
        }
    }

    private GenerationRecord record(int w, int h) {
        GenerationSettings s = settings;
        String kindName = switch (kind) {
            case TEXT_TO_IMAGE -> "txt2img";
            case IMAGE_TO_IMAGE -> "img2img";
            case INPAINT -> s.mask().outpaint() != null ? "outpaint" : "inpaint";
        };
        String scheduler = s.schedule().scheduler() == null ? model.scheduler(null).getClass().getSimpleName() : s.schedule().scheduler();
        Map<String, String> hashes = new LinkedHashMap<>();
        model.weightHashes(unet).forEach((file, hash) -> hashes.put("base/" + file, hash));
        Path configs = model.explicitConfigFolder();
        var from = new GenerationRecord.Provenance(Map.of("base", model.name()), configs == null ? null : Map.of("base", configs.toString()), unet == null ? null : unet.toString(), hashes,
                Runs.inputs(imageOrigin, image, maskOrigin, mask), model.backendName(), null, model.family());
        return GenerationRecord.of(kindName, s, scheduler, w, h, false, false, from);
    }

    private String name() { return kind == DenoisingSpec.Kind.INPAINT ? "inpaint" : "img2img"; }

    @Override
    public void close() {
        if (ownsModel) model.close();
    }
}
