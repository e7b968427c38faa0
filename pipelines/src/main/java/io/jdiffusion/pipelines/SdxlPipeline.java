package io.jdiffusion.pipelines;

import io.jdiffusion.tensor.random.TorchGenerator;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Settings shared by the three SDXL pipelines, set fluently, and the base→refiner ensemble.
 *
 * <p>Thread-safety: a pipeline holds loaded models and per-call settings; configure and run it
 * from one thread at a time ({@link #run()} is synchronized, so concurrent calls queue).
 * {@link #cancel()} may be called from any thread; the run stops before its next step with a
 * {@link CancelledException}. Close the pipeline to release the models it loaded.
 */
public abstract sealed class SdxlPipeline<SELF extends SdxlPipeline<SELF>> implements AutoCloseable
        permits Text2ImagePipeline, Img2ImgPipeline, InpaintPipeline {

    protected final SdxlModel base;
    protected SdxlModel refiner;
    private boolean ownsModels;

    protected List<String> prompt = List.of("");
    protected List<String> prompt2;
    protected List<String> negativePrompt;
    protected List<String> negativePrompt2;
    protected int steps = 50;
    protected double guidance;
    protected double guidanceRescale;
    protected long seed;
    protected int imagesPerPrompt = 1;
    protected Integer width;
    protected Integer height;
    protected String scheduler;
    protected Double highNoiseFraction;
    protected Double denoisingStart;
    protected Double denoisingEnd;
    protected boolean outputLatents;
    protected double aestheticScore = 6.0;
    protected double negativeAestheticScore = 2.5;
    protected Integer clipSkip;
    protected StepListener listener = StepListener.NONE;
    protected java.nio.file.Path unetOverride;
    private final AtomicBoolean cancelled = new AtomicBoolean();

    protected SdxlPipeline(SdxlModel base, boolean ownsModels, double defaultGuidance) {
        this.base = Objects.requireNonNull(base, "base model");
        this.ownsModels = ownsModels;
        this.guidance = defaultGuidance;
    }

    @SuppressWarnings("unchecked")
    protected SELF self() { return (SELF) this; }

    /** Adds the refiner for the low-noise part of the schedule; set {@link #highNoiseFraction} too. */
    public SELF refiner(SdxlModel refinerModel) {
        this.refiner = refinerModel;
        return self();
    }

    /** Loads the refiner from a folder, single file or Hugging Face id; closed with this pipeline. */
    public SELF refiner(String nameOrPath) {
        this.refiner = SdxlModel.load(nameOrPath);
        ownedRefiner = true;
        return self();
    }

    private boolean ownedRefiner;

    /** Makes this pipeline close its base and refiner models when it is closed. */
    SELF ownModels() {
        ownsModels = true;
        ownedRefiner = refiner != null;
        return self();
    }

    public SELF prompt(String... p) { this.prompt = List.of(p); return self(); }

    public SELF prompt2(String... p) { this.prompt2 = List.of(p); return self(); }

    public SELF negativePrompt(String... p) { this.negativePrompt = List.of(p); return self(); }

    public SELF negativePrompt2(String... p) { this.negativePrompt2 = List.of(p); return self(); }

    public SELF steps(int n) {
        if (n < 1) throw new IllegalArgumentException("steps must be at least 1, got " + n);
        this.steps = n;
        return self();
    }

    public SELF guidance(double g) {
        if (!(g >= 0) || Double.isInfinite(g)) throw new IllegalArgumentException("guidance must be a finite number >= 0, got " + g);
        this.guidance = g;
        return self();
    }

    public SELF guidanceRescale(double phi) {
        if (!(phi >= 0 && phi <= 1)) throw new IllegalArgumentException("guidanceRescale must be in [0, 1], got " + phi);
        this.guidanceRescale = phi;
        return self();
    }

    public SELF seed(long s) { this.seed = s; return self(); }

    public SELF imagesPerPrompt(int n) {
        if (n < 1) throw new IllegalArgumentException("imagesPerPrompt must be at least 1, got " + n);
        this.imagesPerPrompt = n;
        return self();
    }

    public SELF size(int w, int h) {
        Validation.divisibleBy8("width", w);
        Validation.divisibleBy8("height", h);
        this.width = w;
        this.height = h;
        return self();
    }

    /** "euler" (default: the model's scheduler), "euler_a", "ddim", "dpmpp_2m", "dpmpp_2m_karras". */
    public SELF scheduler(String name) {
        SchedulerNames.check(name);
        this.scheduler = name;
        return self();
    }

    /** The fraction of the schedule the base runs before the refiner takes over (denoising_end/start). */
    public SELF highNoiseFraction(double f) {
        Validation.openUnit("highNoiseFraction", f);
        this.highNoiseFraction = f;
        return self();
    }

    public SELF denoisingStart(double f) { Validation.openUnit("denoisingStart", f); this.denoisingStart = f; return self(); }

    public SELF denoisingEnd(double f) { Validation.openUnit("denoisingEnd", f); this.denoisingEnd = f; return self(); }

    public SELF outputLatents(boolean b) { this.outputLatents = b; return self(); }

    public SELF aestheticScore(double positive, double negative) {
        this.aestheticScore = positive;
        this.negativeAestheticScore = negative;
        return self();
    }

    public SELF clipSkip(int k) {
        if (k < 0) throw new IllegalArgumentException("clipSkip must be >= 0, got " + k);
        this.clipSkip = k;
        return self();
    }

    /** Runs the base model with this UNet folder instead of its own (e.g. the 9-channel inpainting UNet). */
    public SELF unetOverride(java.nio.file.Path unetFolder) {
        if (!java.nio.file.Files.isRegularFile(unetFolder.resolve("config.json"))) {
            throw new IllegalArgumentException("UNet folder " + unetFolder + " has no config.json");
        }
        this.unetOverride = unetFolder;
        return self();
    }

    /** The base model as this run uses it (with the UNet override applied). */
    protected SdxlModel model() { return unetOverride == null ? base : base.withUnet(unetOverride); }

    private DeviceBudget budget;

    /**
     * Limits the device memory of runs to {@code bytes} (0: no limit): the text encoders, UNets and
     * VAE of the base and refiner take turns on the device and the VAE tiles when it must; see
     * {@link DeviceBudget}. The refiner must run on the same backend instance as the base.
     */
    public SELF vram(long bytes) {
        if (bytes < 0) throw new IllegalArgumentException("vram must be >= 0 bytes (0: no limit), got " + bytes);
        this.budget = bytes == 0 ? null : DeviceBudget.of(base.backend(), bytes);
        return self();
    }

    /** Runs under this budget (shared with other pipelines if wanted); null for none. */
    public SELF deviceBudget(DeviceBudget b) {
        this.budget = b;
        return self();
    }

    /** The budget runs use, or null (then each model keeps its components loaded). */
    public DeviceBudget deviceBudget() { return budget; }

    // ---- LoRA adapters (io.jdiffusion.pipelines.lora): set on the models, so they stay with them

    private boolean loraLenient;

    /**
     * Adds a LoRA adapter (a diffusers/PEFT or kohya/A1111 safetensors file) at {@code scale} to the base
     * model: read and checked against the model's weights now (bad files are refused naming the key and
     * shapes), fused into its text encoders and UNet when they next load. Repeatable: adapters add up.
     */
    public SELF lora(java.nio.file.Path file, double scale) {
        base.loras(base.loras().plus(io.jdiffusion.pipelines.lora.LoraAdapter.read(file), scale).lenient(loraLenient));
        return self();
    }

    /** As {@link #lora}, for the refiner (set the refiner first). */
    public SELF refinerLora(java.nio.file.Path file, double scale) {
        if (refiner == null) throw new IllegalArgumentException("refinerLora needs a refiner: set refiner(...) first");
        refiner.loras(refiner.loras().plus(io.jdiffusion.pipelines.lora.LoraAdapter.read(file), scale).lenient(loraLenient));
        return self();
    }

    /** Skip LoRA tensors that match no module of the model instead of refusing the adapter (set before {@link #lora}). */
    public SELF loraLenient(boolean lenient) { this.loraLenient = lenient; return self(); }

    /** Removes every adapter from the base (and refiner): their stored weights again, bit for bit. */
    public SELF noLoras() {
        base.loras(io.jdiffusion.pipelines.lora.LoraStack.NONE);
        if (refiner != null) refiner.loras(io.jdiffusion.pipelines.lora.LoraStack.NONE);
        return self();
    }

    /** Called after every step (base and refiner steps counted together). */
    public SELF onStep(StepListener l) { this.listener = Objects.requireNonNull(l); return self(); }

    /** Asks a running {@link #run()} to stop before its next step. */
    public void cancel() { cancelled.set(true); }

    /** Runs the pipeline (the base, then the refiner when one is set). */
    public final synchronized GenerationResult run() {
        cancelled.set(false);
        validate();
        if (budget != null) {
            base.deviceBudget(budget);
            if (refiner != null) refiner.deviceBudget(budget);
        }
        return execute(cancelled::get);
    }

    protected abstract GenerationResult execute(java.util.function.BooleanSupplier cancelled);

    /** Checks every setting before any model work, naming the option at fault. */
    protected void validate() {
        if (refiner != null && highNoiseFraction == null && denoisingEnd == null) {
            throw new IllegalArgumentException("a refiner needs highNoiseFraction (the base's share of the schedule, e.g. 0.8)");
        }
        if (denoisingStart != null && denoisingEnd != null && denoisingStart >= denoisingEnd) {
            throw new IllegalArgumentException("denoisingStart (" + denoisingStart + ") must be below denoisingEnd (" + denoisingEnd + ")");
        }
        if (prompt2 != null && prompt2.size() != prompt.size()) {
            throw new IllegalArgumentException("prompt2 has " + prompt2.size() + " entries, prompt has " + prompt.size());
        }
        if (negativePrompt != null && negativePrompt.size() != prompt.size()) {
            throw new IllegalArgumentException("negativePrompt has " + negativePrompt.size() + " entries, prompt has " + prompt.size());
        }
    }

    protected TorchGenerator generator() { return new TorchGenerator(seed); }

    /**
     * Runs the base, then (when {@code refinerSpec} is given) the refiner on the base's latents, both
     * drawing from one generator; the listener sees the steps of both numbered as one run.
     */
    protected Sampler.Output runWithRefiner(DenoisingSpec baseSpec, DenoisingSpec refinerSpec, TorchGenerator gen,
                                            java.util.function.BooleanSupplier cancelled) {
        int baseSteps = Runs.plannedSteps(model(), scheduler, baseSpec);
        int total = baseSteps + (refinerSpec == null ? 0 : Runs.plannedSteps(refiner, scheduler, refinerSpec));
        StepListener l = listener;
        Sampler.Output out = model().sampler(scheduler).run(baseSpec, gen, (i, n, t, x) -> l.onStep(i, total, t, x), cancelled);
        if (refinerSpec == null) return out;
        DenoisingSpec handoff = refinerSpec.withImageLatents(out.data());
        return refiner.sampler(scheduler).run(handoff, gen, (i, n, t, x) -> l.onStep(baseSteps + i, total, t, x), cancelled);
    }

    protected static List<String> copy(List<String> l) { return l == null ? null : new ArrayList<>(l); }

    @Override
    public void close() {
        if (ownedRefiner && refiner != null) refiner.close();
        if (ownsModels) base.close();
    }
}
