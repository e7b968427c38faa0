package io.jdiffusion.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jdiffusion.pipelines.checkpoint.BuiltinConfigs;
import io.jdiffusion.pipelines.checkpoint.Component;
import io.jdiffusion.pipelines.checkpoint.Layout;
import io.jdiffusion.pipelines.checkpoint.SingleFileCheckpoint;
import io.jdiffusion.schedulers.Scheduler;
import io.jdiffusion.schedulers.SchedulerConfig;
import io.jdiffusion.schedulers.Schedulers;
import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Backends;
import io.jdiffusion.tensor.weights.Params;
import io.jdiffusion.tensor.weights.ModelFiles;
import io.jdiffusion.tensor.weights.WeightSource;
import io.jdiffusion.text.CLIPTextConfig;
import io.jdiffusion.text.CLIPTextModel;
import io.jdiffusion.text.CLIPTextModelWithProjection;
import io.jdiffusion.text.CLIPTokenizer;
import io.jdiffusion.text.SdxlPromptEncoder;
import io.jdiffusion.unet.UNet2DConditionConfig;
import io.jdiffusion.unet.UNet2DConditionModel;
import io.jdiffusion.vae.AutoencoderKL;
import io.jdiffusion.vae.VaeConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * One SDXL model (base, refiner or inpainting): a diffusers folder, a Hugging Face id in the local
 * cache, or a Stability single-file checkpoint (with the built-in official configs, or those of
 * {@code configFolder}). Opening checks the layout and reads the configs only; the text encoders,
 * UNet and VAE load on first use, so bad arguments are reported before any weight is touched.
 *
 * <p>Thread-safety: loading is synchronized; a loaded model is read-only and may be shared by
 * pipelines, but runs on one model should not overlap (the backend scratch memory is per run).
 */
public final class SdxlModel implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SdxlModel.class);

    private final String name;
    private final Path folder;
    private final Path singleFile;
    private final Path unetFolder;
    private final Path explicitConfigFolder;
    private final Backend backend;
    private final boolean forceZerosForEmptyPrompt;
    private final boolean requiresAestheticsScore;

    private SingleFileCheckpoint checkpoint;
    private final Object checkpointLock = new Object();
    private DeviceBudget budget;
    private DeviceBudget.Slot<SdxlPromptEncoder> textSlot;
    private DeviceBudget.Slot<UNet2DConditionModel> unetSlot;
    private DeviceBudget.Slot<AutoencoderKL> vaeSlot;
    private UNet2DConditionConfig unetConfig;
    /** For {@link #random}: the layout and seed of the random weights, else null. */
    private Layout randomLayout;
    private long randomSeed;
    /** For a {@link #withUnet} variant: the model whose text encoders and VAE it uses. */
    private SdxlModel parent;
    private SdxlModel unetVariant;
    private Map<String, String> hashes;
    /** A VAE folder replacing the model's own ({@link #withVae}), or null. */
    private volatile Path vaeFolder;

    private SdxlModel(String name, Path folder, Path singleFile, Path unetFolder, Path explicitConfigFolder, Backend backend) {
        this.name = name;
        this.explicitConfigFolder = explicitConfigFolder;
        this.folder = folder;
        this.singleFile = singleFile;
        this.unetFolder = unetFolder;
        this.backend = backend;
        JsonNode index = readJson(folder.resolve("model_index.json"));
        this.forceZerosForEmptyPrompt = index.path("force_zeros_for_empty_prompt").asBoolean(true);
        this.requiresAestheticsScore = index.path("requires_aesthetics_score").asBoolean(false);
        this.budget = DeviceBudget.unlimited(backend);
        makeSlots();
        if (Files.isRegularFile(folder.resolve("vae/config.json"))) DevicePrecision.logOnce(backend, VaeConfig.load(folder.resolve("vae/config.json")));
    }

    /**
     * Uses the VAE in {@code vaeDir} (a diffusers VAE folder, e.g. madebyollin's sdxl-vae-fp16-fix,
     * which runs in F16 where the SDXL VAE's force_upcast asks for F32) instead of the model's own.
     * Checked before any weight is read: the folder must hold a VAE config whose latent channels are
     * the UNet's, and weights.
     */
    public synchronized SdxlModel withVae(Path vaeDir) {
        if (!Files.isRegularFile(vaeDir.resolve("config.json"))) {
            throw new IllegalArgumentException("VAE folder " + vaeDir + " has no config.json");
        }
        VaeConfig cfg = VaeConfig.load(vaeDir.resolve("config.json"));
        int latent = unetConfig().outChannels();
        if (cfg.latentChannels() != latent) {
            throw new IllegalArgumentException("VAE folder " + vaeDir + " has latent_channels " + cfg.latentChannels()
                    + ", but this model's UNet works on " + latent + " latent channels");
        }
        try {
            ModelFiles.find(vaeDir, ModelFiles.DIFFUSERS, DevicePrecision.preferredVariant(backend));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("VAE folder " + vaeDir + ": " + e.getMessage(), e);
        }
        budget.unload(List.of(vaeSlot));
        vaeFolder = vaeDir.toAbsolutePath().normalize();
        sizes = null;
        hashes = null; // the weights read are now the folder's, not the model's own VAE
        if (unetVariant != null) unetVariant.hashes = null;
        return this;
    }

    /** The VAE folder that replaces the model's own ({@link #withVae}), or null. */
    public Path vaeFolder() { return vaeFolder; }

    private void makeSlots() {
        textSlot = budget.slot(name + " text encoders", this::loadText, SdxlPromptEncoder::close);
        unetSlot = budget.slot((unetFolder != null ? unetFolder.toString() : name) + " UNet", this::loadUnet, UNet2DConditionModel::close);
        vaeSlot = budget.slot(name + " VAE", this::loadVae, null);
    }

    /**
     * Puts this model's components under {@code b} (shared with the other models of a run, e.g.
     * base and refiner): they load on use and unload when others need the room. Components loaded
     * so far are unloaded first.
     */
    public synchronized SdxlModel deviceBudget(DeviceBudget b) {
        if (b.backend() != backend) throw new IllegalArgumentException("the device budget is for backend " + b.backend().name()
                + ", this model runs on another backend instance (" + backend.name() + ")");
        if (b == budget) return this;
        budget.unload(List.of(textSlot, unetSlot, vaeSlot));
        budget = b;
        makeSlots();
        if (unetVariant != null) unetVariant.deviceBudget(b);
        return this;
    }

    /** The device budget this model's components live under (unlimited unless one was set). */
    public synchronized DeviceBudget deviceBudget() { return budget; }

    /** Opens a model on the automatically chosen backend (CUDA where available, else CPU). */
    public static SdxlModel load(String nameOrPath) { return load(nameOrPath, null, Backends.get()); }

    /**
     * Opens a model folder, cached Hugging Face id or single-file checkpoint.
     *
     * @param configFolder for a single file: a diffusers folder whose configs to use instead of the built-in ones
     */
    public static SdxlModel load(String nameOrPath, Path configFolder, Backend backend) {
        Path p = ModelLocator.resolve(nameOrPath);
        if (Files.isRegularFile(p)) {
            ModelFiles.requireSafetensorsFile(p, "model '" + nameOrPath + "'");
            Layout layout;
            try (SingleFileCheckpoint c = SingleFileCheckpoint.open(p)) {
                layout = c.layout();
            }
            if (layout.sd()) {
                throw new IllegalArgumentException(p + " is a Stable Diffusion " + (layout == Layout.SD1 ? "1.x" : "2.x") + " checkpoint, not SDXL:"
                        + " the SDXL pipelines and their SDXL-only settings (" + ModelFamily.SDXL_ONLY_SETTINGS + ") do not apply; load it with SdModel");
            }
            Path configs = configFolder != null ? configFolder : BuiltinConfigs.folder(layout);
            LOG.info("{}: single-file SDXL {} checkpoint, configs from {}", p.getFileName(), layout.name().toLowerCase(), configs);
            checkLayout(configs, layout.components().contains(Component.TEXT_ENCODER), false);
            return new SdxlModel(p.toString(), configs, p, null,
                    configFolder == null ? null : configFolder.toAbsolutePath().normalize(), backend).hashWeightsInBackground();
        }
        checkLayout(p, null, true);
        // a Hugging Face id is kept as the user wrote it (it resolves on any machine), a path is made absolute
        return new SdxlModel(Files.exists(Path.of(nameOrPath)) ? p.toString() : nameOrPath, p, null, null, null, backend)
                .hashWeightsInBackground();
    }

    /**
     * The full-size official SDXL model of {@code layout} with random weights ({@link RandomSdxl}),
     * for benchmarks and memory tests without a checkpoint; components load lazily like any model's.
     */
    public static SdxlModel random(Layout layout, Backend backend, long seed) {
        SdxlModel m = new SdxlModel("random-" + layout.configName() + "-seed" + seed, BuiltinConfigs.folder(layout), null, null, null, backend);
        m.randomLayout = layout;
        m.randomSeed = seed;
        return m;
    }

    /** The components a diffusers folder must have, reported by name before anything loads. */
    private static void checkLayout(Path folder, Boolean needsTextEncoder1, boolean weights) {
        ModelFamily.requireSdxl(folder);
        if (!Files.isRegularFile(folder.resolve("model_index.json"))) {
            throw new IllegalArgumentException("model folder " + folder + " has no model_index.json (is it a diffusers SDXL folder?)");
        }
        for (String c : List.of("unet", "vae", "scheduler", "text_encoder_2", "tokenizer_2")) {
            if (!Files.isDirectory(folder.resolve(c))) {
                throw new IllegalArgumentException("model folder " + folder + " lacks the component '" + c + "/'");
            }
        }
        if (Boolean.TRUE.equals(needsTextEncoder1) && !Files.isDirectory(folder.resolve("text_encoder"))) {
            throw new IllegalArgumentException("config folder " + folder + " lacks 'text_encoder/' for a base checkpoint");
        }
        if (weights) {
            // the same lookup the components do when they load, done now so that a missing or pickled
            // weight file is named before anything is read
            ModelFiles.find(folder.resolve("unet"), ModelFiles.DIFFUSERS, null);
            ModelFiles.find(folder.resolve("vae"), ModelFiles.DIFFUSERS, null);
            ModelFiles.find(folder.resolve("text_encoder_2"), ModelFiles.TRANSFORMERS, null);
        }
    }

    /** This model with another UNet folder (e.g. the 9-channel inpainting UNet); closed with this model. */
    public synchronized SdxlModel withUnet(Path unetDir) {
        if (unetVariant != null && unetVariant.unetFolder.equals(unetDir)) return unetVariant;
        if (!Files.isRegularFile(unetDir.resolve("config.json"))) {
            throw new IllegalArgumentException("UNet folder " + unetDir + " has no config.json");
        }
        if (unetVariant != null) unetVariant.close();
        SdxlModel v = new SdxlModel(name, folder, singleFile, unetDir, explicitConfigFolder, backend);
        v.parent = this;
        v.deviceBudget(budget);
        unetVariant = v;
        return v;
    }

    /** The name the user gave (folder, file or Hugging Face id). */
    public String name() { return name; }

    /** The diffusers folder the configs come from. */
    public Path folder() { return folder; }

    public String backendName() { return backend.name(); }

    /** The config folder given for a single-file model, or null (built-in configs, or a diffusers folder). */
    public Path explicitConfigFolder() { return explicitConfigFolder; }

    public Backend backend() { return backend; }

    public boolean requiresAestheticsScore() { return requiresAestheticsScore; }

    /** unet.sample_size × 8: diffusers' default image size for this model. */
    public int defaultImageSize() {
        JsonNode c = readJson((unetFolder != null ? unetFolder : folder.resolve("unet")).resolve("config.json"));
        return c.path("sample_size").asInt(128) * 8;
    }

    /** A fresh scheduler: the model's own, or one of {@link Schedulers#CLASS_NAMES} by short name. */
    public Scheduler scheduler(String shortName) { return SchedulerNames.create(shortName, schedulerConfig()); }

    private SchedulerConfig schedulerConfig;

    /** scheduler/scheduler_config.json, read once (every run and its progress count builds fresh schedulers from it). */
    private synchronized SchedulerConfig schedulerConfig() {
        if (schedulerConfig == null) schedulerConfig = SchedulerConfig.readDir(folder.resolve("scheduler"));
        return schedulerConfig;
    }

    /**
     * The denoising loop over this model's components with a fresh scheduler; each component loads when the
     * run first needs it (and, under a {@link DeviceBudget}, may unload when another needs the room).
     */
    DenoisingLoop denoisingLoop(String schedulerName) {
        return new DenoisingLoop(backend, components(), scheduler(schedulerName), requiresAestheticsScore);
    }

    /** This model's components as the denoising loop asks for them, in the order of use. */
    DenoisingLoop.Components components() {
        return new DenoisingLoop.Components() {
            @Override public SdxlPromptEncoder text() { return SdxlModel.this.text(); }
            @Override public UNet2DConditionConfig unetConfig() { return SdxlModel.this.unetConfig(); }
            @Override public UNet2DConditionModel unet() { return SdxlModel.this.unet(); }
            @Override public AutoencoderKL vae(int latentHeight, int latentWidth) { return vaeFor(latentHeight, latentWidth); }
        };
    }

    /** The UNet's config, read without loading its weights. */
    public synchronized UNet2DConditionConfig unetConfig() {
        if (unetConfig == null) {
            unetConfig = UNet2DConditionConfig.load((unetFolder != null ? unetFolder : folder.resolve("unet")).resolve("config.json"));
        }
        return unetConfig;
    }

    /** The text encoders (a {@link #withUnet} variant's are its parent's), loaded on first use. */
    public SdxlPromptEncoder text() { return parent != null ? parent.text() : slots().text.get(); }

    public UNet2DConditionModel unet() { return slots().unet.get(); }

    /** The VAE, loaded on first use. */
    public AutoencoderKL vae() { return parent != null ? parent.vae() : slots().vae.get(); }

    /** The VAE for latents lh × lw: tiled when the device budget cannot hold the whole image's activations. */
    public AutoencoderKL vaeFor(int lh, int lw) {
        if (parent != null) return parent.vaeFor(lh, lw);
        Slots s = slots();
        AutoencoderKL v = s.vae.get();
        io.jdiffusion.vae.VaeTiling t = s.budget.vaeTiling(v.config(), lh, lw, s.vae);
        return t == null ? v : v.withTiling(t);
    }

    private record Slots(DeviceBudget budget, DeviceBudget.Slot<SdxlPromptEncoder> text,
                         DeviceBudget.Slot<UNet2DConditionModel> unet, DeviceBudget.Slot<AutoencoderKL> vae) {}

    private synchronized Slots slots() { return new Slots(budget, textSlot, unetSlot, vaeSlot); }

    private SdxlPromptEncoder loadText() {
        if (textWeightsInPlace()) {
            LOG.info("{}: text encoder weights read in place (widened on each use): the CPU weight cache of {} MiB is kept for the UNet",
                    name, io.jdiffusion.tensor.cpu.CpuBackend.weightCacheBudgetBytes() >> 20);
            return io.jdiffusion.tensor.cpu.CpuBackend.withWeightsInPlace(this::loadTextWeights);
        }
        return loadTextWeights();
    }

    /**
     * On the CPU backend: whether the text encoders, the UNet and the VAE as F32 do not fit the
     * weight cache together with room for activations, so the text encoders are read in place ({@link CpuWeightPlan}).
     */
    boolean textWeightsInPlace() {
        if (!onCpuWithFiles()) return false;
        CpuWeightPlan.Sizes z = f32Sizes();
        return !CpuWeightPlan.cacheText(z.text(), z.unet(), z.vae(), io.jdiffusion.tensor.cpu.CpuBackend.weightCacheBudgetBytes());
    }

    private boolean onCpuWithFiles() { return backend instanceof io.jdiffusion.tensor.cpu.CpuBackend && randomLayout == null; }

    private volatile CpuWeightPlan.Sizes sizes;

    /**
     * F32 bytes of this model's text encoders, UNet and VAE, from the weight files' headers (read once;
     * not under this model's lock: it is asked while a component loads under the device budget's).
     */
    private CpuWeightPlan.Sizes f32Sizes() {
        CpuWeightPlan.Sizes known = sizes;
        if (known != null) return known;
        long text, unet, vae;
        Path unetDir = unetFolder != null ? unetFolder : folder.resolve("unet");
        if (singleFile == null) {
            text = CpuWeightPlan.folderF32Bytes(List.of(folder.resolve("text_encoder"), folder.resolve("text_encoder_2")), ModelFiles.TRANSFORMERS);
            unet = CpuWeightPlan.folderF32Bytes(List.of(unetDir), ModelFiles.DIFFUSERS);
            vae = CpuWeightPlan.folderF32Bytes(List.of(vaeFolder != null ? vaeFolder : folder.resolve("vae")), ModelFiles.DIFFUSERS);
        } else {
            SingleFileCheckpoint c = checkpoint();
            text = CpuWeightPlan.f32Bytes(c.component(Component.TEXT_ENCODER_2, 0, 0));
            if (c.layout().components().contains(Component.TEXT_ENCODER)) text += CpuWeightPlan.f32Bytes(c.component(Component.TEXT_ENCODER, 0, 0));
            unet = unetFolder != null ? CpuWeightPlan.folderF32Bytes(List.of(unetDir), ModelFiles.DIFFUSERS)
                    : CpuWeightPlan.f32Bytes(c.component(Component.UNET, unetStride(unetConfig()), 0));
            vae = vaeFolder != null ? CpuWeightPlan.folderF32Bytes(List.of(vaeFolder), ModelFiles.DIFFUSERS)
                    : CpuWeightPlan.f32Bytes(c.component(Component.VAE, 0, VaeConfig.load(folder.resolve("vae/config.json")).levels()));
        }
        sizes = new CpuWeightPlan.Sizes(text, unet, vae);
        return sizes;
    }

    /**
     * On the CPU backend, before {@code next} (the refiner after the base, or the base after the
     * refiner) runs its UNet: unloads this model's UNet when the two UNets as F32 do not fit the
     * weight cache together with room for activations, so that {@code next}'s weights are converted
     * instead of widened at every step, and the heap holds one UNet, not one and a half. Under a
     * device budget the budget decides instead.
     */
    void releaseUnetOnCpuFor(SdxlModel next) {
        Slots s = slots();
        if (!onCpuWithFiles() || !next.onCpuWithFiles() || s.budget().limited() || !s.unet().resident()) return;
        if (CpuWeightPlan.cacheBoth(f32Sizes().unet(), next.f32Sizes().unet(), next.f32Sizes().vae(),
                io.jdiffusion.tensor.cpu.CpuBackend.weightCacheBudgetBytes())) return;
        LOG.info("{}: UNet unloaded: the CPU weight cache cannot hold it beside the next model's", name);
        s.budget().unload(List.of(s.unet()));
        io.jdiffusion.tensor.cpu.CpuBackend.weightsDropped();
    }

    private SdxlPromptEncoder loadTextWeights() {
        SdxlPromptEncoder text;
        {
            long t0 = System.nanoTime();
            if (randomLayout != null) {
                text = RandomSdxl.promptEncoder(randomLayout, backend, randomSeed);
            } else if (singleFile == null) {
                text = SdxlPromptEncoder.load(folder, backend,
                        DevicePrecision.variantIn(backend, folder.resolve("text_encoder"), folder.resolve("text_encoder_2")),
                        w -> lora(Component.TEXT_ENCODER, w), w -> lora(Component.TEXT_ENCODER_2, w));
            } else {
                SingleFileCheckpoint c = checkpoint();
                CLIPTokenizer tok1 = null;
                CLIPTextModel te1 = null;
                if (c.layout().components().contains(Component.TEXT_ENCODER)) {
                    tok1 = CLIPTokenizer.load(folder.resolve("tokenizer"));
                    CLIPTextConfig cfg = CLIPTextConfig.read(folder.resolve("text_encoder/config.json"));
                    Params p = Params.load("text_encoder", lora(Component.TEXT_ENCODER, c.component(Component.TEXT_ENCODER, 0, 0)), backend, null);
                    te1 = new CLIPTextModel(cfg, p);
                    p.finish();
                }
                CLIPTextConfig cfg2 = CLIPTextConfig.read(folder.resolve("text_encoder_2/config.json"));
                Params p2 = Params.load("text_encoder_2", lora(Component.TEXT_ENCODER_2, c.component(Component.TEXT_ENCODER_2, 0, 0)), backend, null);
                CLIPTextModelWithProjection te2 = new CLIPTextModelWithProjection(cfg2, p2);
                p2.finish();
                text = new SdxlPromptEncoder(tok1, te1, CLIPTokenizer.load(folder.resolve("tokenizer_2")), te2, backend,
                        forceZerosForEmptyPrompt);
            }
            LOG.info("{}: text encoders loaded in {} ms", name, (System.nanoTime() - t0) / 1_000_000);
        }
        return text;
    }

    // ---- LoRA adapters (io.jdiffusion.pipelines.lora): fused into the text encoders' and UNet's weights as they load

    private volatile io.jdiffusion.pipelines.lora.LoraStack loras = io.jdiffusion.pipelines.lora.LoraStack.NONE;

    /** The adapters this model runs with (a {@link #withUnet} variant: its parent's). */
    public io.jdiffusion.pipelines.lora.LoraStack loras() { return parent != null ? parent.loras() : loras; }

    /**
     * Runs this model with {@code stack} from now on. The adapters are checked against the model's
     * weights at once (names and shapes only; nothing is read); the text encoders and UNet are rebuilt
     * on their next use with the adapters fused in. {@code LoraStack.NONE} unfuses: the stored weights
     * again, bit for bit, from the same mapped files (the base model is not read again, the VAE stays).
     */
    public synchronized SdxlModel loras(io.jdiffusion.pipelines.lora.LoraStack stack) {
        if (parent != null) throw new IllegalStateException("set LoRA adapters on the model, not on its UNet variant");
        if (stack.equals(loras)) return this;
        if (!stack.isEmpty()) {
            if (randomLayout != null) throw new IllegalArgumentException("LoRA adapters need a model with weights files, not random weights");
            Map<Component, WeightSource> sources = new java.util.EnumMap<>(Component.class);
            try {
                sources.put(Component.UNET, singleFile != null ? checkpoint().component(Component.UNET, unetStride(unetConfig()), 0)
                        : UNet2DConditionModel.openWeights(UNet2DConditionModel.weightFile(folder.resolve("unet"))));
                for (Component c : List.of(Component.TEXT_ENCODER, Component.TEXT_ENCODER_2)) {
                    if (singleFile != null) {
                        if (checkpoint().layout().components().contains(c)) sources.put(c, checkpoint().component(c, 0, 0));
                    } else if (Files.isDirectory(folder.resolve(c.folder()))) {
                        sources.put(c, c == Component.TEXT_ENCODER ? CLIPTextModel.openWeights(folder.resolve(c.folder()), null)
                                : CLIPTextModelWithProjection.openWeights(folder.resolve(c.folder()), null));
                    }
                }
                stack.check(sources, loraStride());
            } finally {
                sources.values().forEach(WeightSource::close);
            }
        }
        budget.unload(unetVariant != null ? List.of(textSlot, unetSlot, unetVariant.unetSlot) : List.of(textSlot, unetSlot));
        loras = stack;
        return this;
    }

    /** {@code base} with this model's adapters for component {@code c} fused in. */
    private WeightSource lora(Component c, WeightSource base) {
        io.jdiffusion.pipelines.lora.LoraStack l = loras();
        return l.isEmpty() ? base : l.wrap(c, base, c == Component.UNET ? loraStride() : 0);
    }

    /** layers_per_block + 1, for kohya names in the original SGM form; 0 (no such names) when the levels differ. */
    private int loraStride() {
        try {
            return unetStride(unetConfig());
        } catch (IllegalArgumentException unevenLevels) {
            return 0;
        }
    }

    /** A UNet folder's weights (LoRA fused in), as {@code UNet2DConditionModel.load(folder, backend)} reads them. */
    private UNet2DConditionModel loadUnetFolder(Path unetDir) {
        UNet2DConditionConfig cfg = UNet2DConditionConfig.load(unetDir.resolve("config.json"));
        return UNet2DConditionModel.load(cfg, lora(Component.UNET, UNet2DConditionModel.openWeights(DevicePrecision.unetWeights(unetDir, backend))),
                backend, null);
    }

    private UNet2DConditionModel loadUnet() {
        UNet2DConditionModel unet;
        {
            long t0 = System.nanoTime();
            if (unetFolder != null) {
                unet = loadUnetFolder(unetFolder);
            } else if (randomLayout != null) {
                unet = RandomSdxl.unet(randomLayout, backend, randomSeed + 10);
            } else if (singleFile == null) {
                unet = loadUnetFolder(folder.resolve("unet"));
            } else {
                UNet2DConditionConfig cfg = UNet2DConditionConfig.load(folder.resolve("unet/config.json"));
                unet = UNet2DConditionModel.load(cfg, lora(Component.UNET, checkpoint().component(Component.UNET, unetStride(cfg), 0)), backend, null);
            }
            LOG.info("{}: UNet loaded in {} ms", name, (System.nanoTime() - t0) / 1_000_000);
        }
        return unet;
    }

    static int unetStride(UNet2DConditionConfig cfg) {
        int lpb = cfg.layersPerBlock()[0];
        for (int l : cfg.layersPerBlock()) {
            if (l != lpb) throw new IllegalArgumentException("single-file UNets need the same layers_per_block on every level");
        }
        return lpb + 1;
    }

    private AutoencoderKL loadVae() {
        AutoencoderKL vae;
        {
            Path dir = vaeFolder != null ? vaeFolder : folder.resolve("vae");
            VaeConfig cfg = VaeConfig.load(dir.resolve("config.json"));
            Backend vb = DevicePrecision.vaeBackend(backend, cfg);
            if (vaeFolder != null) {
                vae = AutoencoderKL.load(vaeFolder, vb);
            } else if (randomLayout != null) {
                vae = RandomSdxl.vae(randomLayout, vb, null, randomSeed + 20);
            } else if (singleFile == null) {
                vae = AutoencoderKL.load(dir, vb);
            } else {
                WeightSource w = checkpoint().component(Component.VAE, 0, cfg.levels());
                vae = AutoencoderKL.load(cfg, w, vb);
            }
        }
        return vae;
    }

    private SingleFileCheckpoint checkpoint() {
        synchronized (checkpointLock) {
            if (checkpoint == null) checkpoint = SingleFileCheckpoint.open(singleFile);
            return checkpoint;
        }
    }

    /** SHA-256 (first 16 hex digits) of every weight file this model reads, by path relative to the model. */
    public synchronized Map<String, String> weightHashes() {
        if (hashes == null) {
            Map<String, String> h = new LinkedHashMap<>();
            if (randomLayout != null) h.put("random", randomLayout.configName() + "-seed" + randomSeed);
            weightFiles().forEach((label, f) -> h.put(label, WeightHashes.of(f)));
            hashes = Map.copyOf(h);
        }
        return new java.util.TreeMap<>(hashes);
    }

    /**
     * The weight files {@link #weightHashes} covers, by the label it records them under, in the
     * order the model loads them (text encoders, UNet, VAE).
     */
    private Map<String, Path> weightFiles() {
        Map<String, Path> files = new LinkedHashMap<>();
        Path vaeUsed = parent != null ? parent.vaeFolder() : vaeFolder; // a UNet variant decodes with its parent's VAE
        if (randomLayout == null && singleFile != null) files.put(singleFile.getFileName().toString(), singleFile);
        if (randomLayout == null && singleFile == null) {
            for (String c : List.of("text_encoder", "text_encoder_2")) addWeightFiles(files, folder.resolve(c), c);
        }
        Path u = unetFolder != null ? unetFolder : singleFile == null ? folder.resolve("unet") : null;
        if (u != null) addWeightFiles(files, u, unetFolder != null ? unetFolder.toString() : "unet");
        if (randomLayout == null && singleFile == null && vaeUsed == null) addWeightFiles(files, folder.resolve("vae"), "vae");
        // a VAE that replaces the model's own is recorded under its folder, as a UNet override is
        if (vaeUsed != null) addWeightFiles(files, vaeUsed, vaeUsed.toString());
        return files;
    }

    /**
     * Starts hashing the weight files on a background thread, so that the record of the first
     * generation does not wait for it: reading a full-size folder's 7 GB takes seconds, which the
     * load (mostly waiting for the disk) and the text encoding leave free.
     */
    private SdxlModel hashWeightsInBackground() {
        weightFiles().values().forEach(WeightHashes::prefetch);
        return this;
    }

    static void addHashes(Map<String, String> h, Path dir, String label) {
        Map<String, Path> files = new LinkedHashMap<>();
        addWeightFiles(files, dir, label);
        files.forEach((l, f) -> h.put(l, WeightHashes.of(f)));
    }

    private static void addWeightFiles(Map<String, Path> files, Path dir, String label) {
        if (!Files.isDirectory(dir)) return;
        try (Stream<Path> s = Files.list(dir)) {
            for (Path f : s.filter(x -> x.getFileName().toString().endsWith(".safetensors")).sorted().toList()) {
                files.put(label + "/" + f.getFileName(), f);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static JsonNode readJson(Path p) {
        try {
            return new ObjectMapper().readTree(p.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + p + ": " + e.getMessage(), e);
        }
    }

    @Override
    public synchronized void close() {
        if (unetVariant != null) unetVariant.close();
        unetVariant = null;
        budget.unload(parent != null ? List.of(unetSlot) : List.of(unetSlot, textSlot, vaeSlot));
        synchronized (checkpointLock) {
            if (checkpoint != null) checkpoint.close();
            checkpoint = null;
        }
    }
}
