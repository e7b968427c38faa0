package io.jdiffusion.pipelines;

import io.jdiffusion.pipelines.image.Image;
import io.jdiffusion.pipelines.image.ImageProcessor;
import io.jdiffusion.tensor.random.TorchGenerator;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * diffusers' {@code StableDiffusionPipeline}, {@code StableDiffusionImg2ImgPipeline} and
 * {@code StableDiffusionInpaintPipeline} (4- or 9-channel UNet) for SD 1.x/2.x models, set
 * fluently, on the same sampler as SDXL: one text encoder (its last hidden state), no pooled
 * embedding or micro-conditioning, the model's own scheduler (PNDM, or DDIM v-prediction for SD 2)
 * unless {@link #scheduler} names another. SDXL's refiner, aesthetic scores, original_size and
 * second prompts do not exist here (an SD folder given to the SDXL pipelines is refused by name).
 *
 * <pre>{@code
 * try (var pipe = SdPipeline.inpaint(SdModel.load("stabilityai/stable-diffusion-2-inpainting"))) {
 *     GenerationResult r = pipe.prompt("a vase").image(photo).mask(mask).steps(30).seed(7).run();
 * }
 * }</pre>
 */
public final class SdPipeline implements AutoCloseable {
    private final DenoisingSpec.Kind kind;
    private final SdModel model;
    private final boolean ownsModel;

    private List<String> prompt = List.of("");
    private List<String> negativePrompt;
    private int steps = 50;
    private double guidance = 7.5;
    private double guidanceRescale;
    private long seed;
    private int imagesPerPrompt = 1;
    private Integer width, height;
    private String scheduler;
    private double strength;
    private Image image, mask;
    private Path unet;
    private boolean outputLatents;
    private StepListener listener = StepListener.NONE;
    private final AtomicBoolean cancelled = new AtomicBoolean();

    private SdPipeline(DenoisingSpec.Kind kind, SdModel model, boolean ownsModel) {
        this.kind = kind;
        this.model = Objects.requireNonNull(model, "model");
        this.ownsModel = ownsModel;
        // diffusers' defaults: img2img strength 0.8, inpaint 1.0
        this.strength = kind == DenoisingSpec.Kind.IMAGE_TO_IMAGE ? 0.8 : 1.0;
    }

    /** StableDiffusionPipeline on {@code model} (not closed by the pipeline). */
    public static SdPipeline txt2img(SdModel model) { return new SdPipeline(DenoisingSpec.Kind.TEXT_TO_IMAGE, model, false); }

    /** StableDiffusionImg2ImgPipeline on {@code model} (not closed by the pipeline). */
    public static SdPipeline img2img(SdModel model) { return new SdPipeline(DenoisingSpec.Kind.IMAGE_TO_IMAGE, model, false); }

    /** StableDiffusionInpaintPipeline on {@code model} (not closed by the pipeline). */
    public static SdPipeline inpaint(SdModel model) { return new SdPipeline(DenoisingSpec.Kind.INPAINT, model, false); }

    /** A pipeline of {@code kind} on a model loaded from a folder or Hugging Face id, closed with the pipeline. */
    public static SdPipeline load(DenoisingSpec.Kind kind, String model) { return new SdPipeline(kind, SdModel.load(model), true); }

    public SdPipeline prompt(String... p) { this.prompt = List.of(p); return this; }

    public SdPipeline negativePrompt(String... p) { this.negativePrompt = List.of(p); return this; }

    public SdPipeline steps(int n) {
        if (n < 1) throw new IllegalArgumentException("steps must be at least 1, got " + n);
        this.steps = n;
        return this;
    }

    public SdPipeline guidance(double g) {
        if (!(g >= 0) || Double.isInfinite(g)) throw new IllegalArgumentException("guidance must be a finite number >= 0, got " + g);
        this.guidance = g;
        return this;
    }

    public SdPipeline guidanceRescale(double phi) {
        if (!(phi >= 0 && phi <= 1)) throw new IllegalArgumentException("guidanceRescale must be in [0, 1], got " + phi);
        this.guidanceRescale = phi;
        return this;
    }

    public SdPipeline seed(long s) { this.seed = s; return this; }

    public SdPipeline imagesPerPrompt(int n) {
        if (n < 1) throw new IllegalArgumentException("imagesPerPrompt must be at least 1, got " + n);
        this.imagesPerPrompt = n;
        return this;
    }

    public SdPipeline size(int w, int h) {
        Validation.divisibleBy8("width", w);
        Validation.divisibleBy8("height", h);
        this.width = w;
        this.height = h;
        return this;
    }

    /** One of {@link SchedulerNames#NAMES}; default: the model's own scheduler. */
    public SdPipeline scheduler(String name) {
        SchedulerNames.check(name);
        this.scheduler = name;
        return this;
    }

    /** img2img/inpaint strength in (0, 1]. */
    public SdPipeline strength(double s) {
        if (kind == DenoisingSpec.Kind.TEXT_TO_IMAGE) throw new IllegalArgumentException("strength applies to img2img and inpaint, not txt2img");
        Validation.strength(s);
        this.strength = s;
        return this;
    }

    public SdPipeline image(Image img) {
        if (kind == DenoisingSpec.Kind.TEXT_TO_IMAGE) throw new IllegalArgumentException("image applies to img2img and inpaint, not txt2img");
        this.image = Objects.requireNonNull(img, "image");
        return this;
    }

    public SdPipeline mask(Image m) {
        if (kind != DenoisingSpec.Kind.INPAINT) throw new IllegalArgumentException("mask applies to inpaint only");
        this.mask = Objects.requireNonNull(m, "mask");
        return this;
    }

    /** Runs with this UNet folder instead of the model's (e.g. a 9-channel inpainting UNet). */
    public SdPipeline unet(Path unetFolder) {
        if (!Files.isRegularFile(unetFolder.resolve("config.json"))) throw new IllegalArgumentException("UNet folder " + unetFolder + " has no config.json");
        this.unet = unetFolder;
        return this;
    }

    public SdPipeline outputLatents(boolean b) { this.outputLatents = b; return this; }

    /** Called after every step with that step's latents. */
    public SdPipeline onStep(StepListener l) { this.listener = Objects.requireNonNull(l); return this; }

    /** Asks a running {@link #run()} to stop before its next step. */
    public void cancel() { cancelled.set(true); }

    /** Runs the pipeline; every setting is checked before any model work. */
    public synchronized GenerationResult run() {
        cancelled.set(false);
        if (negativePrompt != null && negativePrompt.size() != prompt.size()) {
            throw new IllegalArgumentException("negativePrompt has " + negativePrompt.size() + " entries, prompt has " + prompt.size());
        }
        if (kind != DenoisingSpec.Kind.TEXT_TO_IMAGE && image == null) throw new IllegalArgumentException("image is required for " + name());
        if (kind == DenoisingSpec.Kind.INPAINT && mask == null) throw new IllegalArgumentException("mask is required for inpaint");
        int w, h;
        if (image != null) {
            int[] hw = ImageProcessor.defaultHeightWidth(image, height, width);
            h = hw[0];
            w = hw[1];
        } else {
            w = width != null ? width : model.defaultImageSize();
            h = height != null ? height : model.defaultImageSize();
        }
        float[] pixels = image == null ? null : ImageProcessor.preprocess(image, h, w).floats();
        float[] maskTensor = mask == null ? null : ImageProcessor.preprocessMask(mask, h, w).floats();
        GenerationSettings d = GenerationSettings.defaults(guidance, kind == DenoisingSpec.Kind.TEXT_TO_IMAGE ? null : strength);
        GenerationSettings settings = d.with(d.prompts().withPrompt(prompt).withNegativePrompt(negativePrompt))
                .with(d.guidance().withRescale(guidanceRescale).withAestheticScores(0, 0))
                .with(d.schedule().withSteps(steps).withSeed(seed))
                .with(d.size().withSize(w, h).withImagesPerPrompt(imagesPerPrompt)).withOutputLatents(outputLatents);
        DenoisingSpec spec = DenoisingSpec.base(kind, settings, false, h, w, strength, pixels, null, maskTensor);
        DenoisingLoop.Output out = model.denoisingLoop(scheduler, unet).run(spec, new TorchGenerator(seed), listener, cancelled::get);
        return Runs.result(out, null);
    }

    private String name() { return kind == DenoisingSpec.Kind.INPAINT ? "inpaint" : "img2img"; }

    @Override
    public void close() {
        if (ownsModel) model.close();
    }
}
