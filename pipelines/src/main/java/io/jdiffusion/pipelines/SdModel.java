package io.jdiffusion.pipelines;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.jdiffusion.pipelines.checkpoint.BuiltinConfigs;
import io.jdiffusion.pipelines.checkpoint.Component;
import io.jdiffusion.pipelines.checkpoint.Layout;
import io.jdiffusion.pipelines.checkpoint.SingleFileCheckpoint;
import io.jdiffusion.schedulers.Scheduler;
import io.jdiffusion.schedulers.SchedulerConfig;
import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Backends;
import io.jdiffusion.tensor.weights.Params;
import io.jdiffusion.text.CLIPTextConfig;
import io.jdiffusion.text.CLIPTextModel;
import io.jdiffusion.text.CLIPTokenizer;
import io.jdiffusion.text.PromptEncoder;
import io.jdiffusion.text.SdPromptEncoder;
import io.jdiffusion.unet.UNet2DConditionConfig;
import io.jdiffusion.unet.UNet2DConditionModel;
import io.jdiffusion.vae.AutoencoderKL;
import io.jdiffusion.vae.VaeConfig;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A Stable Diffusion 1.x/2.x model in diffusers' folder layout, or a CompVis/Stability single file
 * read with bundled configs (see {@link #load(String, Path, String, Backend)}). A folder has model_index.json with
 * {@code _class_name} StableDiffusion[Img2Img|Inpaint]Pipeline, tokenizer/, text_encoder/, unet/,
 * vae/, scheduler/), built from its configs by the same UNet, VAE, CLIP and scheduler classes as
 * SDXL. Components load on first use and stay loaded until {@link #close()}, or, under a
 * {@link DeviceBudget}, take turns on the device as SDXL's do.
 */
public final class SdModel implements AutoCloseable {
    private static final List<String> COMPONENTS = List.of("tokenizer", "text_encoder", "unet", "vae", "scheduler");

    /** The family names a generation record keeps: SD 1.x (CLIP ViT-L) and SD 2.x (OpenCLIP ViT-H). */
    public static final String FAMILY_SD1 = "sd1", FAMILY_SD2 = "sd2";

    private final String name;
    private final Path folder;
    private final Backend backend;
    private DeviceBudget budget;
    private DeviceBudget.Slot<SdPromptEncoder> textSlot;
    private DeviceBudget.Slot<AutoencoderKL> vaeSlot;
    private final Map<Path, DeviceBudget.Slot<UNet2DConditionModel>> unetSlots = new LinkedHashMap<>();
    private SchedulerConfig schedulerConfig;
    private final Map<Path, Map<String, String>> hashes = new LinkedHashMap<>();

    /** For a single-file checkpoint: the file (its configs are {@link #folder}), else null. */
    private final Path singleFile;
    /** The config folder a single file was read with when it is not the one its keys select (recorded with runs), else null. */
    private final Path recordedConfigFolder;
    private SingleFileCheckpoint checkpoint;

    private SdModel(String name, Path folder, Path singleFile, Path recordedConfigFolder, Backend backend) {
        this.name = name;
        this.folder = folder;
        this.singleFile = singleFile;
        this.recordedConfigFolder = recordedConfigFolder;
        this.backend = backend;
        this.budget = DeviceBudget.unlimited(backend);
        makeSlots();
    }

    /** Opens an SD 1/2 diffusers folder, cached Hugging Face id or single file on the automatically chosen backend. */
    public static SdModel load(String nameOrPath) { return load(nameOrPath, Backends.get()); }

    public static SdModel load(String nameOrPath, Backend backend) { return load(nameOrPath, null, null, backend); }

    /**
     * Opens an SD 1/2 model: a diffusers folder or cached Hugging Face id (its own configs), or a
     * CompVis/Stability single file ({@code model.diffusion_model.*}, {@code first_stage_model.*},
     * {@code cond_stage_model.*}), SD 1 or SD 2 and 4 or 9 UNet channels told apart by its keys and
     * shapes, read with the bundled official configs or those of {@code configFolder}.
     *
     * @param predictionType for a single SD 2 file: "v_prediction" for the 768 px model (the keys cannot tell), "epsilon" or null for 512 px
     */
    public static SdModel load(String nameOrPath, Path configFolder, String predictionType, Backend backend) {
        Path p = ModelLocator.resolve(nameOrPath);
        if (predictionType != null && !List.of("epsilon", "v_prediction").contains(predictionType)) {
            throw new IllegalArgumentException("prediction type (--prediction-type) must be epsilon or v_prediction, got '" + predictionType + "'");
        }
        if (Files.isRegularFile(p)) return loadSingleFile(nameOrPath, p, configFolder, "v_prediction".equals(predictionType), backend);
        if (configFolder != null || predictionType != null) {
            throw new IllegalArgumentException("a config folder (--config) and a prediction type (--prediction-type) apply to single-file checkpoints;"
                    + " the diffusers folder " + p + " has its own configs");
        }
        checkFolder(p);
        return new SdModel(Files.exists(Path.of(nameOrPath)) ? p.toString() : nameOrPath, p, null, null, backend);
    }

    private static void checkFolder(Path p) {
        ModelFamily family = ModelFamily.of(p);
        if (family != ModelFamily.SD) {
            throw new IllegalArgumentException("model folder " + p + " is not a Stable Diffusion 1/2 model: model_index.json _class_name must be "
                    + "StableDiffusionPipeline, StableDiffusionImg2ImgPipeline or StableDiffusionInpaintPipeline"
                    + (family == ModelFamily.SDXL ? " (this is an SDXL model: use the SDXL pipelines)" : ""));
        }
        for (String c : COMPONENTS) {
            if (!Files.isDirectory(p.resolve(c))) throw new IllegalArgumentException("model folder " + p + " lacks the component '" + c + "/'");
        }
    }

    private static SdModel loadSingleFile(String nameOrPath, Path file, Path configFolder, boolean vPrediction, Backend backend) {
        io.jdiffusion.tensor.weights.ModelFiles.requireSafetensorsFile(file, "model '" + nameOrPath + "'");
        Layout layout;
        int inChannels;
        try (SingleFileCheckpoint c = SingleFileCheckpoint.open(file)) {
            layout = c.layout();
            inChannels = c.unetInChannels();
        }
        if (!layout.sd()) throw new IllegalArgumentException(file + " is an SDXL " + layout.name().toLowerCase() + " checkpoint, not SD 1/2");
        if (vPrediction && layout != Layout.SD2) {
            throw new IllegalArgumentException("prediction type (--prediction-type) v_prediction is SD 2's 768 px model; " + file + " is SD 1 (epsilon)");
        }
        if (configFolder != null && vPrediction) {
            throw new IllegalArgumentException("give a config folder (--config) or a prediction type (--prediction-type), not both: the folder's"
                    + " scheduler config names its prediction_type");
        }
        if (configFolder != null) checkFolder(configFolder);
        Path configs = configFolder != null ? configFolder.toAbsolutePath().normalize() : BuiltinConfigs.sdFolder(layout, inChannels == 9, vPrediction);
        LOG.info("{}: single-file {} checkpoint ({} UNet channels), configs from {}", file.getFileName(), layout.configName(), inChannels, configs);
        return new SdModel(file.toString(), configs, file, configFolder != null || vPrediction ? configs : null, backend);
    }

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(SdModel.class);

    /** The config folder to record with runs: one given for a single file, or the variant chosen by prediction type; else null. */
    public Path explicitConfigFolder() { return recordedConfigFolder; }

    public String name() { return name; }

    public Path folder() { return folder; }

    public Backend backend() { return backend; }

    public String backendName() { return backend.name(); }

    /**
     * {@link #FAMILY_SD1} or {@link #FAMILY_SD2}: SD 2's OpenCLIP ViT-H text encoder uses gelu where
     * SD 1's CLIP ViT-L uses quick_gelu (the one config value that tells the two apart at every size).
     */
    public String family() {
        Path config = folder.resolve("text_encoder").resolve("config.json");
        try {
            return new ObjectMapper().readTree(config.toFile()).path("hidden_act").asText("quick_gelu").equals("quick_gelu") ? FAMILY_SD1 : FAMILY_SD2;
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + config, e);
        }
    }

    /** unet.sample_size × 8: diffusers' default image size (512 for SD 1.5 and 2-base, 768 for SD 2). */
    public int defaultImageSize() {
        Path config = folder.resolve("unet").resolve("config.json");
        try {
            return new ObjectMapper().readTree(config.toFile()).path("sample_size").asInt(64) * 8;
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + config, e);
        }
    }

    /** A fresh scheduler: the model's own (PNDM for SD 1.5, DDIM v-prediction for SD 2), or one by short name. */
    public Scheduler scheduler(String shortName) {
        synchronized (this) {
            if (schedulerConfig == null) schedulerConfig = SchedulerConfig.readDir(folder.resolve("scheduler"));
        }
        return SchedulerNames.create(shortName, schedulerConfig);
    }

    /** A sampler with a fresh scheduler, over this model's UNet or the one in {@code unetFolder} (null: the model's). */
    DenoisingLoop denoisingLoop(String schedulerName, Path unetFolder) {
        Path unetDir = unetDir(unetFolder);
        return new DenoisingLoop(backend, new DenoisingLoop.Components() {
            @Override public PromptEncoder text() { return slots().text.get(); }
            @Override public UNet2DConditionConfig unetConfig() { return UNet2DConditionConfig.load(unetDir.resolve("config.json")); }
            @Override public UNet2DConditionModel unet() { return unetSlot(unetDir).get(); }
            @Override public AutoencoderKL vae(int latentHeight, int latentWidth) { return vaeFor(latentHeight, latentWidth); }
        }, scheduler(schedulerName), false);
    }

    private Path unetDir(Path unetFolder) {
        return (unetFolder != null ? unetFolder : folder.resolve("unet")).toAbsolutePath().normalize();
    }

    /**
     * Puts this model's components under {@code b}: they load on use and unload when others need the
     * room; the VAE tiles when the budget cannot hold a whole image's activations. Loaded components
     * are unloaded first.
     */
    public synchronized SdModel deviceBudget(DeviceBudget b) {
        if (b.backend() != backend) throw new IllegalArgumentException("the device budget is for backend " + b.backend().name()
                + ", this model runs on another backend instance (" + backend.name() + ")");
        if (b == budget) return this;
        unloadAll();
        budget = b;
        makeSlots();
        return this;
    }

    /** The device budget this model's components live under (unlimited unless one was set). */
    public synchronized DeviceBudget deviceBudget() { return budget; }

    private void makeSlots() {
        textSlot = budget.slot(name + " text encoder", this::loadText, SdPromptEncoder::close);
        vaeSlot = budget.slot(name + " VAE", this::loadVae, null);
        unetSlots.clear();
    }

    private record Slots(DeviceBudget budget, DeviceBudget.Slot<SdPromptEncoder> text, DeviceBudget.Slot<AutoencoderKL> vae) {}

    private synchronized Slots slots() { return new Slots(budget, textSlot, vaeSlot); }

    private synchronized DeviceBudget.Slot<UNet2DConditionModel> unetSlot(Path dir) {
        return unetSlots.computeIfAbsent(dir, d -> budget.slot(d + " UNet", () -> loadUnet(d), UNet2DConditionModel::close));
    }

    private SdPromptEncoder loadText() {
        if (singleFile == null) return SdPromptEncoder.load(folder, backend, null);
        CLIPTextConfig cfg = CLIPTextConfig.read(folder.resolve("text_encoder/config.json"));
        Params p = Params.load("text_encoder", checkpoint().component(Component.TEXT_ENCODER, 0, 0), backend, null);
        CLIPTextModel te = new CLIPTextModel(cfg, p);
        p.finish();
        return new SdPromptEncoder(CLIPTokenizer.load(folder.resolve("tokenizer")), te);
    }

    private UNet2DConditionModel loadUnet(Path dir) {
        if (singleFile == null || !dir.equals(unetDir(null))) return UNet2DConditionModel.load(dir, backend);
        UNet2DConditionConfig cfg = UNet2DConditionConfig.load(dir.resolve("config.json"));
        return UNet2DConditionModel.load(cfg, checkpoint().component(Component.UNET, SdxlModel.unetStride(cfg), 0), backend, null);
    }

    private AutoencoderKL loadVae() {
        if (singleFile == null) return AutoencoderKL.load(folder.resolve("vae"), backend);
        VaeConfig cfg = VaeConfig.load(folder.resolve("vae/config.json"));
        return AutoencoderKL.load(cfg, checkpoint().component(Component.VAE, 0, cfg.levels()), backend);
    }

    private synchronized SingleFileCheckpoint checkpoint() {
        if (checkpoint == null) checkpoint = SingleFileCheckpoint.open(singleFile);
        return checkpoint;
    }

    private AutoencoderKL vaeFor(int lh, int lw) {
        Slots s = slots();
        AutoencoderKL v = s.vae.get();
        io.jdiffusion.vae.VaeTiling t = s.budget.vaeTiling(v.config(), lh, lw, s.vae);
        return t == null ? v : v.withTiling(t);
    }

    /** SHA-256 (first 16 hex digits) of every weight file a run with {@code unetFolder} (null: the model's UNet) reads. */
    public synchronized Map<String, String> weightHashes(Path unetFolder) {
        return new TreeMap<>(hashes.computeIfAbsent(unetDir(unetFolder), u -> {
            Map<String, String> h = new LinkedHashMap<>();
            if (singleFile != null) {
                h.put(singleFile.getFileName().toString(), WeightHashes.of(singleFile));
                if (unetFolder != null) SdxlModel.addHashes(h, u, unetFolder.toString());
                return Map.copyOf(h);
            }
            for (String c : List.of("text_encoder", "vae")) SdxlModel.addHashes(h, folder.resolve(c), c);
            SdxlModel.addHashes(h, u, unetFolder != null ? unetFolder.toString() : "unet");
            return Map.copyOf(h);
        }));
    }

    private void unloadAll() {
        List<DeviceBudget.Slot<?>> all = new java.util.ArrayList<>(unetSlots.values());
        all.add(textSlot);
        all.add(vaeSlot);
        budget.unload(all);
    }

    @Override
    public synchronized void close() {
        unloadAll();
        unetSlots.clear();
        if (checkpoint != null) checkpoint.close();
        checkpoint = null;
    }
}
