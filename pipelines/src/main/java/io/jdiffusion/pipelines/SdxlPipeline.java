package io.jdiffusion.pipelines;

import io.jdiffusion.tensor.random.TorchGenerator;

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
public abstract sealed class SdxlPipeline<SELF extends SdxlPipeline<SELF>> implements GenerationPipeline<SELF>
        permits Text2ImagePipeline, Img2ImgPipeline, InpaintPipeline {

    protected final SdxlModel base;
    protected SdxlModel refiner;
    private boolean ownsModels;

    /** Every setting of the next run; the fluent setters replace it with an updated copy. */
    protected GenerationSettings settings;
    protected StepListener listener = StepListener.NONE;
    protected java.nio.file.Path unetOverride;
    private final AtomicBoolean cancelled = new AtomicBoolean();

    protected SdxlPipeline(SdxlModel base, boolean ownsModels, double defaultGuidance, Double defaultStrength) {
        this.base = Objects.requireNonNull(base, "base model");
        this.ownsModels = ownsModels;
        this.settings = GenerationSettings.defaults(defaultGuidance, defaultStrength);
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

    @Override
    public SELF settings(GenerationSettings s) { this.settings = Objects.requireNonNull(s, "settings"); return self(); }

    @Override
    public GenerationSettings settings() { return settings; }

    public SELF prompt2(String... p) { return settings(settings.with(settings.prompts().withPrompt2(List.of(p)))); }

    public SELF negativePrompt2(String... p) { return settings(settings.with(settings.prompts().withNegativePrompt2(List.of(p)))); }

    /** The fraction of the schedule the base runs before the refiner takes over (denoising_end/start). */
    public SELF highNoiseFraction(double f) { return settings(settings.with(settings.refiner().withHighNoiseFraction(f))); }

    public SELF denoisingStart(double f) { return settings(settings.with(settings.schedule().withDenoisingStart(f))); }

    public SELF denoisingEnd(double f) { return settings(settings.with(settings.schedule().withDenoisingEnd(f))); }

    public SELF aestheticScore(double positive, double negative) {
        return settings(settings.with(settings.guidance().withAestheticScores(positive, negative)));
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
    @Override
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

    @Override
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
    @Override
    public SELF onStep(StepListener l) { this.listener = Objects.requireNonNull(l); return self(); }

    @Override
    public void cancel() { cancelled.set(true); }

    /** Runs the pipeline (the base, then the refiner when one is set). */
    @Override
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
    protected void validate() { settings.validate(refiner != null); }

    /** The output size and the memory it needs ({@link Limits#output}), before any model work; {@code origin} says where the size came from. */
    protected void checkOutput(int w, int h, String origin) { InpaintCanvas.checkOutput(settings, w, h, origin, base.backend()); }

    TorchGenerator generator() { return new TorchGenerator(settings.schedule().seed()); }

    /**
     * Runs the base, then (when {@code refinerSpec} is given) the refiner on the base's latents, both
     * drawing from one generator; the listener sees the steps of both numbered as one run.
     */
    DenoisingLoop.Output runWithRefiner(DenoisingSpec baseSpec, TorchGenerator gen, java.util.function.BooleanSupplier cancelled) {
        DenoisingSpec refinerSpec = refiner == null ? null : baseSpec.refinerHalf();
        String scheduler = settings.schedule().scheduler();
        int baseSteps = Runs.plannedSteps(model(), scheduler, baseSpec);
        Integer refinerSteps = refinerSpec == null ? null : Runs.plannedSteps(refiner, scheduler, refinerSpec);
        StepPlanCheck.check(baseSpec, baseSteps, refinerSteps); // before the loops read any weight
        int total = baseSteps + (refinerSteps == null ? 0 : refinerSteps);
        StepListener l = listener;
        if (refiner != null) refiner.releaseUnetOnCpuFor(model()); // the last run's refiner UNet, when the base's needs the room
        DenoisingLoop.Output out = model().denoisingLoop(scheduler).run(baseSpec, gen, (i, n, t, x) -> l.onStep(i, total, t, x), cancelled);
        if (refinerSpec == null) return out;
        DenoisingSpec handoff = refinerSpec.withImageLatents(out.data());
        model().releaseUnetOnCpuFor(refiner);
        return refiner.denoisingLoop(scheduler).run(handoff, gen, (i, n, t, x) -> l.onStep(baseSteps + i, total, t, x), cancelled);
    }

    @Override
    public void close() {
        if (ownedRefiner && refiner != null) refiner.close();
        if (ownsModels) base.close();
    }
}
